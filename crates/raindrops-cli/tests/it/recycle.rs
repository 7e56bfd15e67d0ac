//! Issue 9: `raindrops serve` recycling its workers under load, with no failed request.
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use raindrops_test_support::prometheus::{self, Parser};

use crate::serve::{DEADLINE, Load, Serve, get};
use crate::util::assert_usage_error;

/// An HTTP/1.1 client on one keep-alive connection, reconnecting only when the server said
/// `Connection: close`: a connection closed under a request is an error, as for a browser.
pub(crate) struct KeepAlive {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    /// Connections opened, by every client sharing it.
    connections: Arc<AtomicUsize>,
    /// The last request went on a connection that had served one before (kept alive).
    reused: bool,
}

impl KeepAlive {
    pub(crate) fn new(addr: SocketAddr, connections: Arc<AtomicUsize>) -> Self {
        KeepAlive { addr, conn: None, connections, reused: false }
    }

    /// GET `path`: the status, or what went wrong.
    pub(crate) fn get(&mut self, path: &str) -> Result<u16, String> {
        let result = self.exchange(path);
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    /// Whether the last request went on a kept-alive connection (one that had served a
    /// response before), rather than on a new one.
    pub(crate) fn reused(&self) -> bool {
        self.reused
    }

    fn exchange(&mut self, path: &str) -> Result<u16, String> {
        let fail = |what: &str, err: std::io::Error| format!("{path}: {what}: {err}");
        self.reused = self.conn.is_some();
        if self.conn.is_none() {
            let stream =
                TcpStream::connect_timeout(&self.addr, DEADLINE).map_err(|e| fail("connect", e))?;
            stream.set_read_timeout(Some(DEADLINE)).map_err(|e| fail("timeout", e))?;
            self.conn = Some(BufReader::new(stream));
            self.connections.fetch_add(1, Ordering::Relaxed);
        }
        let conn = self.conn.as_mut().unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
        conn.get_mut().write_all(request.as_bytes()).map_err(|e| fail("write", e))?;
        let mut line = String::new();
        conn.read_line(&mut line).map_err(|e| fail("status", e))?;
        let status = line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|r| r.get(..3)?.parse().ok())
            .ok_or_else(|| format!("{path}: no response (read {line:?})"))?;
        let (mut length, mut close) = (0usize, false);
        loop {
            line.clear();
            conn.read_line(&mut line).map_err(|e| fail("header", e))?;
            let header = line.trim_end().to_ascii_lowercase();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("content-length:") {
                length = value.trim().parse().map_err(|_| format!("bad length {header:?}"))?;
            }
            close |= header == "connection: close";
        }
        let mut body = vec![0; length];
        conn.read_exact(&mut body).map_err(|e| fail("body", e))?;
        if close {
            self.conn = None;
        }
        Ok(status)
    }
}

/// The recycle count for `reason` in `/_raindrops.json`, asked of any worker.
fn recycles(addr: SocketAddr, reason: &str) -> u64 {
    let (status, body) = get(addr, "/_raindrops.json").expect("stats");
    assert_eq!(status, 200, "{body}");
    let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    value["recycles"][reason].as_u64().unwrap_or_else(|| panic!("no recycles.{reason}: {body}"))
}

/// The most replacements under way at once, from the master's log: one begins when a worker
/// is "started, replacing pid OLD" and ends when OLD is reaped.
fn most_restarting(log: &[String]) -> usize {
    let mut restarting = BTreeSet::new();
    let mut most = 0;
    for line in log {
        if let Some((_, old)) = line.split_once("started, replacing pid ") {
            restarting.insert(old.to_owned());
            most = most.max(restarting.len());
        } else if line.contains(" exited with ") || line.contains(" killed by ") {
            restarting.retain(|old| !line.contains(&format!("(pid {old}) ")));
        }
    }
    most
}

#[test]
fn memory_recycling_under_keep_alive_load_fails_no_request() {
    let serve = Serve::start_with(2, &["--max-memory", "24M..40M", "--max-restarting", "1"]);
    let addr = serve.addr;
    let connections = Arc::new(AtomicUsize::new(0));
    let load = Load::start(4, 20_000, Duration::from_secs(60), || {
        let mut client = KeepAlive::new(addr, Arc::clone(&connections));
        move |i| match client.get(if i % 8 == 0 { "/leak?mb=8" } else { "/" }) {
            Ok(200) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    let start = Instant::now();
    while recycles(addr, "memory") < 5 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let ok = load.finish();
    let memory = recycles(addr, "memory");
    assert!(memory >= 5, "{memory} recycles in 60 s: {:#?}", serve.log());
    let log = serve.log();
    assert_eq!(most_restarting(&log), 1, "more than K=1 restarting at once: {log:#?}");
    // Any worker shows the sum, in OpenMetrics too.
    let (_, metrics) = get(addr, "/metrics").unwrap();
    let Some(parsed) = prometheus::parse(Parser::Prometheus, &metrics) else { return };
    assert!(parsed.contains(&"# raindrops_recycles counter".to_owned()), "{parsed:#?}");
    let line = parsed
        .iter()
        .find(|l| l.starts_with("raindrops_recycles_total{reason=\"memory\"} "))
        .unwrap_or_else(|| panic!("{parsed:#?}"));
    let counted: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(counted >= memory as f64, "{line} < {memory}");
    // The text format stays raindrops' own.
    let (_, text) = get(addr, "/_raindrops").unwrap();
    assert!(text.starts_with("calling: ") && !text.contains("recycle"), "{text}");
    let connections = connections.load(Ordering::Relaxed);
    eprintln!("{ok} requests on {connections} connections, 0 failed, {memory} memory recycles");
}

#[test]
fn max_requests_recycles_and_counts_by_reason() {
    let serve = Serve::start_with(1, &["--max-requests", "20..20"]);
    for _ in 0..20 {
        assert_eq!(get(serve.addr, "/").unwrap().0, 200);
    }
    serve.wait_log(|l| l.contains("asks to be replaced: requests (served 20 requests"));
    let start = Instant::now();
    while recycles(serve.addr, "requests") != 1 {
        assert!(start.elapsed() < DEADLINE, "never counted: {:#?}", serve.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bad_recycling_flags_are_usage_errors_naming_the_input() {
    for (flag, value, says) in [
        ("--max-memory", "40M..20M", "\"40M..20M\" is an empty range"),
        ("--max-memory", "lots", "\"lots\" is not a size"),
        ("--max-requests", "1e3", "\"1e3\" is not a whole number"),
        ("--max-lifetime", "1d", "unknown unit \"d\""),
        ("--memory-budget", "99999999999T", "too large a size"),
        ("--memory-metric", "vsz", "invalid value 'vsz'"),
        ("--max-restarting", "0", "invalid value '0'"),
        ("--max-requests", "0", "\"0\" allows 0"),
        ("--max-requests", "0..10", "\"0..10\" allows 0"),
        ("--memory-budget", "0", "\"0\" allows 0"),
        ("--max-memory", "0..1G", "\"0..1G\" allows 0"),
    ] {
        assert_usage_error(&["serve", flag, value], &[flag, says]);
    }
}

#[test]
fn a_memory_budget_replaces_the_largest_worker() {
    let serve = Serve::start_with(2, &["--memory-budget", "30M", "--memory-metric", "uss"]);
    // One worker keeps 40 MiB: the two together are over budget, and it is the largest.
    let (status, body) = get(serve.addr, "/leak?mb=40").unwrap();
    assert_eq!(status, 200);
    let big = body.rsplit("in worker ").next().unwrap().trim().to_owned();
    let line = serve.wait_log(|l| l.contains("to be replaced: budget ("));
    assert!(line.contains(&format!("(pid {big})")), "{line}");
    serve.wait_log(|l| l.contains(&format!("(pid {big}) exited with 0")));
    assert!(recycles(serve.addr, "budget") >= 1);
}

#[test]
fn an_idle_worker_past_its_lifetime_is_recycled() {
    let serve = Serve::start_with(1, &["--max-lifetime", "1s..1200ms"]);
    let line = serve.wait_log(|l| l.contains("asks to be replaced: lifetime (lived "));
    assert!(line.contains("(limit 1.") || line.contains("(limit 1 "), "{line}");
    let start = Instant::now();
    while recycles(serve.addr, "lifetime") == 0 {
        assert!(start.elapsed() < DEADLINE, "never counted: {:#?}", serve.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `--rolling-restart`: the master replaces each worker in turn once it is old enough, one at
/// a time, and counts it.
#[test]
fn a_rolling_restart_replaces_every_worker_in_turn() {
    let serve = Serve::start_with(2, &["--rolling-restart", "1s..1500ms"]);
    let first: Vec<String> = (0..2)
        .map(|row| {
            let line = serve.wait_log(|l| l.contains(&format!("worker {row} (pid ")));
            line.split("(pid ").nth(1).unwrap().split(')').next().unwrap().to_owned()
        })
        .collect();
    for pid in &first {
        let line = serve.wait_log(|l| {
            l.contains(&format!("(pid {pid}) to be replaced: rolling restart (age "))
        });
        assert!(line.contains("rolling restart"), "{line}");
        serve.wait_log(|l| l.contains(&format!("(pid {pid}) exited with 0")));
    }
    // In turn: never two replacements under way at once.
    assert_eq!(most_restarting(&serve.log()), 1, "{:#?}", serve.log());
    let start = Instant::now();
    while recycles(serve.addr, "rolling") < 2 {
        assert!(start.elapsed() < DEADLINE, "not counted: {:#?}", serve.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}
