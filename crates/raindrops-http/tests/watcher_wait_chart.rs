//! The Watcher's chart page draws the oldest queued connection's wait (ms) over time, from
//! the kernel: real connections left queued on loopback, a real HTTP client; a Unix
//! listener's page says it has no waits; `/chart/ADDR.json` carries the same wait per point
//! (`null` for the Unix listener).
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

/// The `oldest_wait_ms` of every point of `/chart/ADDR.json`, after checking each point keeps
/// `[time, active, queued]` as before with the wait as a fourth value.
fn json_waits(chart: &serde_json::Value, active: u64, queued: u64) -> Vec<serde_json::Value> {
    assert_eq!(chart["columns"], serde_json::json!(["time", "active", "queued", "oldest_wait_ms"]));
    let points = chart["points"].as_array().unwrap();
    points
        .iter()
        .map(|point| {
            let point = point.as_array().unwrap();
            assert_eq!(point.len(), 4, "{chart}");
            assert!(point[0].as_str().is_some_and(|t| t.ends_with('Z')), "{chart}");
            assert_eq!((point[1].as_u64(), point[2].as_u64()), (Some(active), Some(queued)));
            point[3].clone()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_json_has_the_oldest_wait_in_ms_and_null_for_a_unix_listener() {
    // 3 accepted and 2 queued on the TCP listener, 1 and 4 on the Unix one.
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_millis(50));
    let http = serve(&watcher).await;
    let (tcp, unix) = fx.escaped();
    let chart = |addr: String| async move {
        let reply = util::get(http, &format!("/chart/{addr}.json")).await;
        assert_eq!(reply.header("content-type"), Some("application/json"));
        serde_json::from_str::<serde_json::Value>(&reply.body).unwrap()
    };
    // The queued connections age: a sample soon measures a positive wait.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let chart = chart(tcp.clone()).await;
        let waits = json_waits(&chart, 3, 2);
        assert!(waits.iter().all(|w| w.is_u64()), "a TCP listener's waits are numbers: {chart}");
        if waits.iter().any(|w| w.as_u64() > Some(0)) {
            break;
        }
        assert!(Instant::now() < deadline, "no positive wait in the JSON after 30 s: {chart}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let chart = chart(unix).await;
    let waits = json_waits(&chart, 1, 4);
    assert!(!waits.is_empty() && waits.iter().all(serde_json::Value::is_null), "{chart}");
}
