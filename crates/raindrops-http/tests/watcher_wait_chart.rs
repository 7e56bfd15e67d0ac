//! The Watcher's chart page draws the oldest queued connection's wait (ms) over time, from
//! the kernel: real connections left queued on loopback, a real HTTP client; a Unix
//! listener's page says it has no waits.
#![cfg(target_os = "linux")]

mod util;

use std::time::{Duration, Instant};

use util::fixture::{fixture, serve};

/// The values shown on hover by the chart `label`led so in `page` (each `<title>` ends
/// with its value, or the most of its strip).
fn hover_values(page: &str, label: &str) -> Vec<u64> {
    let Some(chart) = page.split(&format!("aria-label='{label}'")).nth(1) else {
        return Vec::new();
    };
    let chart = chart.split("</svg>").next().unwrap();
    chart
        .split("<title>")
        .skip(1)
        .map(|t| t.split("</title>").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_page_draws_the_oldest_wait_in_ms_and_a_unix_listener_has_none() {
    // The fixture leaves 2 connections queued on its TCP listener, and 4 on its Unix one.
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_millis(50));
    let http = serve(&watcher).await;
    let (tcp, unix) = fx.escaped();
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let page = util::get(http, &format!("/chart/{tcp}.html")).await.body;
        if hover_values(&page, "oldest wait").iter().any(|&ms| ms > 0) {
            break page;
        }
        assert!(Instant::now() < deadline, "no nonzero wait on the chart after 30 s: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Its own chart, with its unit on the axis, after the active and queued ones.
    assert_eq!(page.matches("<svg ").count(), 3, "{page}");
    assert!(page.contains(">oldest wait</text>") && page.contains(">ms</text>"), "{page}");
    assert!(!page.contains("No queue waits"), "{page}");

    let page = util::get(http, &format!("/chart/{unix}.html")).await.body;
    assert!(page.contains(" samples, one every"), "{page}");
    assert!(page.contains("No queue waits"), "{page}");
    assert_eq!(page.matches("<svg ").count(), 2, "{page}");
    assert!(hover_values(&page, "oldest wait").is_empty(), "{page}");
}
