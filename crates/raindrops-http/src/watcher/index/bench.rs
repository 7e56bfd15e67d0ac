//! The index's speed with 1,000 listeners and an hour of history (the figures):
//! server render time per sample, page weight; the page is written out for a browser to time.
//! Not run by default: `scripts/watcher-index-speed.sh` runs it (with Chromium's first paint),
//! or `cargo test --release -p raindrops-http --lib index::bench -- --ignored
//! --nocapture`.

use std::time::{Duration, Instant, SystemTime};

use super::query::{Query, Window};
use super::{page, rows};
use crate::exposition::ListenerSample;
use crate::listeners::Listeners;
use crate::watcher::Watcher;

/// 1,000 TCP listeners with numbers that vary by address.
struct Thousand;

impl Listeners for Thousand {
    fn sample(&self) -> std::io::Result<Vec<ListenerSample>> {
        Ok((0..1000u64)
            .map(|i| ListenerSample {
                addr: format!("127.0.{}.{}:{}", i / 250, i % 250, 8000 + i).into(),
                active: i % 17,
                queued: u64::from(i % 9 == 0) * (i % 5),
                wait: None,
            })
            .collect())
    }
}

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn index_with_1000_listeners_and_an_hour_of_history() {
    let watcher = Watcher::builder(Thousand, Duration::from_secs(1)).start().unwrap();
    let sample = watcher.state.latest.borrow().clone();
    {
        let mut addrs = watcher.state.addrs();
        for (i, listener) in sample.listeners.iter().enumerate() {
            let state = addrs.get_mut(&listener.addr).unwrap();
            state.history.clear();
            state.rollups = Default::default();
            for s in (0..3600u64).rev() {
                let t = sample.time - Duration::from_secs(s);
                let wave = (s + i as u64) % 60;
                let (active, queued) = (wave % 13, u64::from(wave > 50) * (wave - 50));
                state.history.push_back((t, active, queued));
                state.rollups.record(t, active, queued);
            }
        }
    }
    for window in Window::ALL {
        let query = Query { window, sort: "pressure", filter: String::new() };
        let runs = 20u32;
        let started = Instant::now();
        let mut bytes = 0;
        for _ in 0..runs {
            let rows = rows(&watcher, &sample, &query);
            bytes = page::render(&watcher, &sample, &query, &rows).len();
        }
        let each = started.elapsed() / runs;
        println!("window {}: render {each:?} per sample, page {bytes} bytes", window.key());
        let rows = rows(&watcher, &sample, &query);
        let page = page::render(&watcher, &sample, &query, &rows);
        let started = Instant::now();
        let gz = super::gzip::compress(page.as_bytes());
        println!("  gzip: {:?}, {} bytes", started.elapsed(), gz.len());
        if window == Window::TenMinutes {
            let path = std::env::temp_dir().join("raindrops-index-1000.html");
            std::fs::write(&path, page).unwrap();
            println!("written to {}", path.display());
        }
    }
    let _ = SystemTime::now();
}
