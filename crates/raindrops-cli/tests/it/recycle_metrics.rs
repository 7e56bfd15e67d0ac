//! Issue 17, item 2: `raindrops recycle --metrics-listen ADDR` serves the workers it follows
//! in OpenMetrics.
#![cfg(target_os = "linux")]

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::recycle_process::wait_sleeping_child;
use crate::recycle_scrape::value;
pub(crate) use crate::recycle_sidecar::metrics_addr;
use crate::recycle_sidecar::{KillOnDrop, LONG, Sidecar, children};
use crate::serve::get;

/// A shell master with 2 children, watched in a dry run with `--metrics-listen 127.0.0.1:0`:
/// the printed address answers `/metrics` with each worker's memory (USS, PSS and RSS side by
/// side), drawn limit, age and state (serving), none recycling, and the recycle and signal
/// counter families; the text passes promtool and both prometheus_client parsers.
#[test]
fn metrics_listen_serves_each_workers_memory_limit_and_age() {
    let (master, workers) = sleeping_master(2);
    let pid = master.0.id();
    let (_sidecar, addr) = dry_run_with_metrics(pid, "1G..2G");
    let memory = |w: u32, metric: &str| {
        format!("raindrops_recycle_worker_memory_bytes{{pid=\"{w}\",metric=\"{metric}\"}}")
    };
    let text = scrape_until(addr, |text| {
        workers.iter().all(|&w| value(text, &memory(w, "rss")).is_some())
    });
    for family in [
        "# TYPE raindrops_recycle_worker_memory_bytes gauge",
        "# UNIT raindrops_recycle_worker_memory_bytes bytes",
        "# TYPE raindrops_recycle_worker_limit_bytes gauge",
        "# TYPE raindrops_recycle_worker_age_seconds gauge",
        "# TYPE raindrops_recycles counter",
        "# TYPE raindrops_recycle_signals counter",
        "# TYPE raindrops_recycle_worker_state gauge",
        "# TYPE raindrops_recycle_recycling gauge",
        "# TYPE raindrops_recycle_recycling_max gauge",
    ] {
        assert!(text.contains(family), "{family}:\n{text}");
    }
    for w in &workers {
        let limit = format!("raindrops_recycle_worker_limit_bytes{{pid=\"{w}\",metric=\"uss\"}} ");
        let limit: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix(&limit))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no limit for {w}:\n{text}"));
        // G is 2^30 bytes.
        let range = 1024.0_f64.powi(3)..=2.0 * 1024.0_f64.powi(3);
        assert!(range.contains(&limit), "limit {limit} outside 1G..2G:\n{text}");
        let age = format!("raindrops_recycle_worker_age_seconds{{pid=\"{w}\"}} ");
        assert!(text.lines().any(|l| l.starts_with(&age)), "no age for {w}:\n{text}");
        // One read of smaps_rollup: all three, each non-zero, USS <= PSS <= RSS.
        let [uss, pss, rss] = ["uss", "pss", "rss"].map(|m| value(&text, &memory(*w, m)));
        let (uss, pss, rss) = (uss.unwrap(), pss.unwrap(), rss.unwrap());
        assert!(0.0 < uss && uss <= pss && pss <= rss, "{w}: {uss} {pss} {rss}:\n{text}");
        assert_eq!(states(&text, *w), [("serving", 1.0), ("due", 0.0), ("recycling", 0.0)]);
    }
    assert_eq!(value(&text, "raindrops_recycle_recycling"), Some(0.0), "{text}");
    assert_eq!(value(&text, "raindrops_recycle_recycling_max"), Some(0.0), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    raindrops_test_support::golden::check_openmetrics(&text);
    // A dry run signals nothing: both workers are still there.
    let mut now = children(pid);
    now.sort_unstable();
    assert_eq!(now, workers);
}

/// A dry run over limits every worker exceeds (1..2 bytes): each is `due`, none recycling.
#[test]
fn a_dry_run_shows_every_worker_over_its_limit_due() {
    let (master, workers) = sleeping_master(1);
    let worker = workers[0];
    let (_sidecar, addr) = dry_run_with_metrics(master.0.id(), "1..2");
    let text = scrape_until(addr, |text| states(text, worker).first() == Some(&("serving", 0.0)));
    assert_eq!(states(&text, worker), [("serving", 0.0), ("due", 1.0), ("recycling", 0.0)]);
    assert_eq!(value(&text, "raindrops_recycle_recycling_max"), Some(0.0), "{text}");
    raindrops_test_support::golden::check_openmetrics(&text);
}

/// A worker ignoring SIGQUIT past its lifetime: the scrape counts one recycle for `lifetime`
/// and the SIGQUITs of the escalation as they are sent, the worker is `recycling`, and so is
/// one worker of at most one ever.
#[test]
fn metrics_count_recycles_by_reason_and_escalation_signals() {
    let script = "(trap '' QUIT; exec sleep 300) & wait";
    let master = KillOnDrop(Command::new("sh").args(["-c", script]).spawn().unwrap());
    wait_sleeping_child(master.0.id());
    let pid = master.0.id().to_string();
    let args = [
        "--master",
        &pid,
        "--max-lifetime",
        "1ms..1ms",
        "--interval",
        "100ms",
        "--metrics-listen",
        "127.0.0.1:0",
    ];
    let sidecar = Sidecar::start(&args);
    let addr = metrics_addr(&sidecar);
    let text = scrape_until(addr, |text| {
        text.lines().any(|l| {
            l.strip_prefix("raindrops_recycle_signals_total{signal=\"SIGQUIT\"} ")
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|n| n >= 2)
        })
    });
    assert!(text.contains("raindrops_recycles_total{reason=\"lifetime\"} 1\n"), "{text}");
    let worker = children(master.0.id())[0];
    assert_eq!(states(&text, worker), [("serving", 0.0), ("due", 0.0), ("recycling", 1.0)]);
    assert_eq!(value(&text, "raindrops_recycle_recycling"), Some(1.0), "{text}");
    assert_eq!(value(&text, "raindrops_recycle_recycling_max"), Some(1.0), "{text}");
    raindrops_test_support::golden::check_openmetrics(&text);
}

/// A shell "master" with `n` sleeping children, and their pids, sorted.
pub(crate) fn sleeping_master(n: usize) -> (KillOnDrop, Vec<u32>) {
    let script = format!("{}wait", "sleep 300 & ".repeat(n));
    let master = KillOnDrop(Command::new("sh").args(["-c", &script]).spawn().unwrap());
    let start = Instant::now();
    while children(master.0.id()).len() != n {
        assert!(start.elapsed() < LONG, "the shell did not start {n} children");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut workers = children(master.0.id());
    workers.sort_unstable();
    (master, workers)
}

/// `raindrops recycle` over `master` in a dry run every 50 ms, limits drawn in `max_memory`,
/// serving `--metrics-listen` on a free loopback port: it, and that port's address.
pub(crate) fn dry_run_with_metrics(master: u32, max_memory: &str) -> (Sidecar, SocketAddr) {
    dry_run_with(master, max_memory, &[])
}

/// [`dry_run_with_metrics`] with more arguments (another `--metrics-listen` among them).
pub(crate) fn dry_run_with(master: u32, max_memory: &str, more: &[&str]) -> (Sidecar, SocketAddr) {
    let master = master.to_string();
    let mut args = vec!["--master", &master, "--max-memory", max_memory, "--interval", "50ms"];
    args.push("--dry-run");
    if !more.contains(&"--metrics-listen") {
        args.extend(["--metrics-listen", "127.0.0.1:0"]);
    }
    args.extend(more);
    let sidecar = Sidecar::start(&args);
    let addr = metrics_addr(&sidecar);
    (sidecar, addr)
}

/// Worker `pid`'s `raindrops_recycle_worker_state` samples, in the order written.
fn states(text: &str, pid: u32) -> Vec<(&str, f64)> {
    let prefix = format!("raindrops_recycle_worker_state{{pid=\"{pid}\",state=\"");
    text.lines()
        .filter_map(|l| {
            let (state, value) = l.strip_prefix(&prefix)?.split_once("\"} ")?;
            Some((state, value.parse().ok()?))
        })
        .collect()
}

/// Scrapes `/metrics` until `done` holds for the text (200 every time).
#[track_caller]
pub(crate) fn scrape_until(addr: SocketAddr, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let (status, text) = get(addr, "/metrics").expect("GET /metrics");
        assert_eq!(status, 200, "{text}");
        if done(&text) {
            return text;
        }
        assert!(start.elapsed() < LONG, "not there yet:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
