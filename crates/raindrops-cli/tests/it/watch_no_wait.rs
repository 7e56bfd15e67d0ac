//! `raindrops watch --no-wait`: the sampler leaves queue waits unmeasured (the cheap sampler
//! the scale figures compare against); without it, a queued connection's wait is measured.
#![cfg(target_os = "linux")]

use crate::serve::{get, wait_for};
use crate::stats::Fixture;
use crate::watch::Watch;

/// The `oldest_wait_ms` of every point of `/chart/ADDR.json` once it holds 2 samples.
fn waits(watch: &Watch, addr: &str) -> Vec<serde_json::Value> {
    let path = format!("/chart/{}.json", addr.replace(':', "%3A"));
    wait_for("2 samples on the chart", || {
        let (status, body) = get(watch.addr, &path).ok()?;
        assert_eq!(status, 200, "{body}");
        let chart: serde_json::Value = serde_json::from_str(&body).unwrap();
        let points = chart["points"].as_array()?;
        (points.len() >= 2).then(|| points.iter().map(|p| p[3].clone()).collect())
    })
}

#[test]
fn no_wait_leaves_a_queued_tcp_connection_unmeasured() {
    // 2 accepted and 3 queued connections on the TCP listener.
    let f = Fixture::new("127.0.0.1:0");
    let addr = f.addr().to_string();
    let measured = Watch::start(&["--delay", "50ms", &addr]);
    assert!(waits(&measured, &addr).iter().all(serde_json::Value::is_u64));

    let unmeasured = Watch::start(&["--delay", "50ms", "--no-wait", &addr]);
    assert!(waits(&unmeasured, &addr).iter().all(serde_json::Value::is_null));
    let (_, metrics) = get(unmeasured.addr, "/metrics").unwrap();
    assert!(metrics.contains(&format!("raindrops_listener_queued{{addr=\"{addr}\"}} 3\n")));
    assert!(!metrics.contains("raindrops_listener_queue_oldest_seconds{"), "{metrics}");
}
