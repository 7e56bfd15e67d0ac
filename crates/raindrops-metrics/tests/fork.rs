//! Two forked workers share the recorder: metrics registered after fork (racing for the same
//! names) are summed by the exporter, read back with Debian's python3-prometheus-client.
//!
//! One test in this file: it forks, so no other test thread may hold a lock at that moment.
#![cfg(target_os = "linux")]

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use raindrops::SharedWords;
use raindrops_metrics::SharedRecorder;
use raindrops_test_support::prometheus::{self, Parser};

/// Keys both workers register at the same moment.
const RACED: usize = 200;

/// Worker `i`'s work, after both have arrived at the start line.
fn work(recorder: &SharedRecorder, start: &SharedWords, i: usize) {
    recorder.set_worker(i);
    start.words()[0].fetch_add(1, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while start.words()[0].load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the other worker never started");
        std::hint::spin_loop();
    }
    for k in 0..RACED {
        metrics::counter!("raced", "k" => k.to_string()).increment(1);
    }
    // The uncached macro each time, as apps do.
    for _ in 0..(i + 1) * 1000 {
        metrics::counter!("requests_total", "worker" => "any").increment(1);
    }
    metrics::gauge!("busy").increment(1.0);
    metrics::gauge!("before_fork").increment(2.0);
    for _ in 0..100 {
        metrics::histogram!("latency_seconds").record(if i == 0 { 0.001 } else { 0.1 });
    }
}

fn wait_all(children: &[Pid]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut left: Vec<Pid> = children.to_vec();
    while !left.is_empty() {
        if Instant::now() > deadline {
            for &pid in &left {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
            }
            panic!("workers {left:?} did not finish in 30 s");
        }
        left.retain(|&pid| match waitpid(pid, Some(WaitPidFlag::WNOHANG)).unwrap() {
            WaitStatus::StillAlive => true,
            WaitStatus::Exited(_, 0) => false,
            other => panic!("worker {pid} ended with {other:?}"),
        });
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn two_workers_register_after_fork_and_the_exporter_sums_them() {
    let recorder = SharedRecorder::builder().workers(2).capacity(256).build().unwrap();
    metrics::set_global_recorder(recorder.clone()).unwrap();
    metrics::describe_counter!("requests_total", "Requests served.");
    metrics::gauge!("before_fork").set(0.5);
    let start = SharedWords::new(1).unwrap();

    let children: Vec<Pid> = (0..2)
        .map(|i| {
            // SAFETY: this test binary runs this one test: no other thread holds a lock; the
            // child works, then `_exit`s without unwinding into the test harness.
            match unsafe { fork() }.unwrap() {
                ForkResult::Child => {
                    let ok = std::panic::catch_unwind(|| work(&recorder, &start, i)).is_ok();
                    // SAFETY: ends the child at once, as after any fork.
                    unsafe { nix::libc::_exit(if ok { 0 } else { 1 }) }
                }
                ForkResult::Parent { child } => child,
            }
        })
        .collect();
    wait_all(&children);

    let text = recorder.render();
    assert!(text.contains("# HELP requests Requests served.\n"), "{text}");
    let Some(rows) = prometheus::parse(Parser::OpenMetrics, &text) else { return };
    // The Prometheus parser reads the same samples (it types counters' families "unknown").
    let Some(older) = prometheus::parse(Parser::Prometheus, &text) else { return };
    let samples = |lines: &[String]| -> Vec<String> {
        lines.iter().filter(|l| !l.starts_with('#')).cloned().collect()
    };
    assert_eq!(samples(&rows), samples(&older), "the parsers disagree on\n{text}");
    // `sample` is `name{labels}`, labels sorted.
    let find = |sample: &str| -> f64 {
        let row = rows.iter().find_map(|r| r.strip_prefix(sample)?.strip_prefix(' '));
        row.unwrap_or_else(|| panic!("{sample} in\n{text}")).parse().unwrap()
    };
    assert_eq!(find(r#"requests_total{worker="any"}"#), 3000.0);
    assert_eq!(find("busy{}"), 2.0);
    // 0.5 set in the parent's row (row 0, which worker 0 then shares) + 2 + 2.
    assert_eq!(find("before_fork{}"), 4.5);
    let raced: Vec<_> = rows.iter().filter(|r| r.starts_with("raced_total{")).collect();
    assert_eq!(raced.len(), RACED, "one entry per key:\n{text}");
    assert!(raced.iter().all(|r| r.ends_with(" 2.0")), "{text}");
    assert_eq!(find("latency_seconds_count{}"), 200.0);
    assert!((find("latency_seconds_sum{}") - 10.1).abs() < 1e-9, "{text}");
    // Percentiles are within 1/128 of the exact value (SharedAggregate's buckets).
    for (quantile, exact) in [("0.5", 0.001), ("0.9", 0.1), ("0.999", 0.1)] {
        let got = find(&format!("latency_seconds{{quantile=\"{quantile}\"}}"));
        assert!((got - exact).abs() <= exact / 128.0, "p{quantile}: {got}");
    }
    let types: Vec<_> = ["requests", "busy", "latency_seconds"]
        .iter()
        .map(|f| rows.iter().find_map(|r| r.strip_prefix(&format!("# {f} "))).unwrap())
        .collect();
    assert_eq!(types, ["counter", "gauge", "summary"]);
}
