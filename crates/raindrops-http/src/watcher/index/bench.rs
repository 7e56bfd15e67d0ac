//! The index's speed with 1,000 listeners and an hour of history (the figures):
//! server render time per sample, page weight; the page is written out for a browser to time.
//! Not run by default: `scripts/watcher-index-speed.sh` runs it (with Chromium's first paint),
//! or `cargo test --release -p raindrops-http --lib index::bench -- --ignored
//! --nocapture`.

use std::time::{Duration, Instant};

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
    // One sample: a sampler adding points (and dropping the oldest) while the renders read
    // the first sample would leave less than the hour behind it, drawn the slow way.
    let watcher = Watcher::builder(Thousand, Duration::from_secs(3600)).start().unwrap();
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
                let (active, queued) = (wave % 13, wave.saturating_sub(50));
                state.history.push_back((t, active, queued));
                state.rollups.record(t, active, queued);
            }
        }
    }
    for window in Window::ALL {
        let query = Query { window, sort: "pressure", filter: String::new() };
        let html = || page::render(&watcher, &sample, &query, &rows(&watcher, &sample, &query));
        let page = measure(&format!("window {}: page", window.key()), html);
        measure(&format!("window {}: index.json", window.key()), || {
            super::json(&watcher, &sample, &query)
        });
        if window == Window::TenMinutes {
            let path = std::env::temp_dir().join("raindrops-index-1000.html");
            std::fs::write(&path, &page).unwrap();
            std::fs::write(path.with_extension("html.gz"), super::gzip::compress(page.as_bytes()))
                .unwrap();
            println!("  written to {} (and .gz)", path.display());
        }
    }
    // What every further client polling the same view in the same sample costs.
    let query = Query { window: Window::TenMinutes, sort: "pressure", filter: String::new() };
    super::cached(&watcher, &sample, "json", &query, true, || {
        super::json(&watcher, &sample, &query)
    });
    let runs = 10_000u32;
    let started = Instant::now();
    for _ in 0..runs {
        super::cached(&watcher, &sample, "json", &query, true, || unreachable!());
    }
    println!(
        "index.json from the cache (a further client, same sample): {:?}",
        started.elapsed() / runs
    );
}

/// Renders with `render` 20 times and prints the time per render and the size, then gzips
/// the result and prints that time and size; returns the rendered text.
fn measure(what: &str, render: impl Fn() -> String) -> String {
    let runs = 20u32;
    let started = Instant::now();
    let mut out = String::new();
    for _ in 0..runs {
        out = render();
    }
    let each = started.elapsed() / runs;
    let started = Instant::now();
    let gz = super::gzip::compress(out.as_bytes());
    let gzip = started.elapsed();
    println!(
        "{what}: render {each:.2?} per sample, {} bytes; gzip +{gzip:.2?}, {} bytes",
        out.len(),
        gz.len()
    );
    out
}
