//! `raindrops stats --wait`: the ages of queued connections in every format (issue 16). The
//! fixture's 3 queued connections are at least `AGED` old and at most as old as the test.
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use raindrops_test_support::golden::check_prometheus;

use crate::stats::Fixture;
use crate::util::raindrops_in;

/// How long the fixture's connections wait before the first sample (the fixture's ages).
const AGED: Duration = Duration::from_millis(300);
/// Kernel ticks and our clock's reads: the ages' tolerance.
const SLACK: u64 = 50;

/// The fixture, aged, and `stats --wait --format FORMAT ADDR UNIX`'s stdout and stderr with
/// the bounds (ms) every age of the TCP listener must lie in.
fn run(format: &str) -> (Fixture, String, String, std::ops::RangeInclusive<u64>) {
    let start = Instant::now();
    let f = Fixture::new("127.0.0.1:0");
    std::thread::sleep(AGED);
    let addr = f.addr().to_string();
    let out = raindrops_in(f.dir_path())
        .args(["stats", "--wait", "--format", format, &addr, f.unix()])
        .output()
        .unwrap();
    let high = u64::try_from(start.elapsed().as_millis()).unwrap() + SLACK;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let (stdout, stderr) =
        (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    (f, stdout, stderr, (AGED.as_millis() as u64 - SLACK)..=high)
}

#[test]
fn text_columns() {
    let (f, stdout, stderr, ages) = run("text");
    let addr = f.addr().to_string();
    let len = addr.len().max(f.unix().len()).min(35);
    let header = format!(
        "{:>20} {:>len$} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
        "timestamp", "address", "active", "queued", "oldest_ms", "p50_ms", "p99_ms"
    );
    assert_eq!(stderr, header);
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert_eq!(rows[0][1..4], [addr.as_str(), "2", "3"], "{stdout}");
    let [oldest, p50, p99] = [4, 5, 6].map(|i| rows[0][i].parse::<u64>().unwrap());
    assert!(
        ages.contains(&p50) && p50 <= p99 && p99 <= oldest && ages.contains(&oldest),
        "{stdout}"
    );
    // Unix: no clock, so no ages (not zeros).
    assert_eq!(rows[1][1..], [f.unix(), "2", "3", "-", "-", "-"], "{stdout}");
    // The Ruby layout holds: each column right-aligned in 10.
    assert_eq!(stdout.lines().next().unwrap().len(), header.len() - 1);
}

#[test]
fn json_fields() {
    let (f, stdout, _, ages) = run("json");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = v["listeners"].as_array().unwrap();
    let tcp = &rows[0];
    assert_eq!((tcp["queued"].as_u64(), tcp["waiting"].as_u64()), (Some(3), Some(3)), "{tcp}");
    for field in ["oldest_ms", "p50_ms", "p99_ms"] {
        assert!(ages.contains(&tcp[field].as_u64().unwrap()), "{field}: {tcp}");
    }
    let unix = &rows[1];
    assert_eq!(unix["address"], f.unix());
    for field in ["waiting", "oldest_ms", "p50_ms", "p99_ms"] {
        assert!(unix[field].is_null(), "{field}: {unix}");
    }
}

#[test]
fn prometheus_families_in_seconds() {
    let (f, stdout, _, ages) = run("prometheus");
    check_prometheus(&stdout);
    let addr = format!("addr=\"{}\"", f.addr());
    let value = |series: &str| -> Option<f64> {
        stdout.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    };
    let oldest = value(&format!("raindrops_listener_queue_oldest_seconds{{{addr}}}")).unwrap();
    assert!(ages.contains(&((oldest * 1000.0).round() as u64)), "{oldest}\n{stdout}");
    let name = "raindrops_listener_queue_wait_seconds";
    assert_eq!(value(&format!("{name}_count{{{addr}}}")), Some(3.0));
    assert_eq!(value(&format!("{name}_bucket{{{addr},le=\"+Inf\"}}")), Some(3.0));
    assert_eq!(value(&format!("{name}_bucket{{{addr},le=\"0.127\"}}")), Some(0.0));
    assert!(stdout.contains("# TYPE raindrops_listener_queue_wait_seconds histogram\n"));
    // The Unix listener has no ages: neither family has a series for it.
    let unix = format!("addr=\"{}\"", f.unix());
    assert!(!stdout.lines().any(|l| l.contains("queue_") && l.contains(&unix)), "{stdout}");
}

#[test]
fn wait_and_queued_only_exclude_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let out = raindrops_in(dir.path())
        .args(["stats", "--wait", "--queued-only", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
