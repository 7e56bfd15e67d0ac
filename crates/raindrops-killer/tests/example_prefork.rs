//! `examples/prefork.rs` runs: built by cargo, started on a free port with a memory limit of
//! 0 (every worker is over it at its 16th response), it serves `/` with no failed request
//! while its workers are recycled, and its `/metrics` and `/_raindrops` show every worker's
//! requests, the listener and the recycles; SIGQUIT stops it cleanly.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const DEADLINE: Duration = Duration::from_secs(120);
const MAX_REQUESTS: usize = 3_000;

/// Kills the example (its workers follow their master) if the test fails half-way.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Builds the example (a no-op when `cargo test` built it already); its path.
fn build_example() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "raindrops-killer", "--example", "prefork"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo build --example prefork: {status}");
    // target/debug/deps/example_prefork-* -> target/debug/examples/prefork
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples").join("prefork")
}

/// One request on a new connection: the status line's code and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read the response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a complete response");
    let code = head.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("a status");
    (code, body.to_owned())
}

/// The value of sample `name` in an exposition.
fn sample(metrics: &str, name: &str) -> Option<u64> {
    metrics.lines().find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
}

#[test]
fn the_prefork_example_serves_stats_and_recycles_workers() {
    let exe = build_example();
    let mut child = Command::new(exe)
        .args(["127.0.0.1:0", "0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let running = Running(child);
    let mut first = String::new();
    stderr.read_line(&mut first).expect("the first line");
    let addr: SocketAddr = first
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("not an address line: {first:?}"));
    // The master's and workers' log, kept from filling the pipe.
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });

    let deadline = Instant::now() + DEADLINE;
    let mut recycled = 0;
    let mut served = 0;
    while recycled < 2 {
        assert!(
            Instant::now() < deadline && served < MAX_REQUESTS,
            "{served} requests, {recycled} recycles"
        );
        assert_eq!(get(addr, "/"), (200, "hello\n".to_owned()), "request {served}");
        served += 1;
        if served % 10 == 0 {
            let (code, metrics) = get(addr, "/metrics");
            assert_eq!(code, 200);
            recycled = sample(&metrics, "raindrops_recycles_total{reason=\"memory\"}").unwrap();
        }
    }
    let (code, metrics) = get(addr, "/metrics");
    assert_eq!(code, 200);
    let requests = sample(&metrics, "raindrops_requests_total").unwrap();
    assert!(
        requests >= served as u64,
        "{requests} < {served}: every worker's sum, retired ones too"
    );
    assert!(
        metrics.contains(&format!("raindrops_listener_active{{addr=\"{addr}\"}}")),
        "{metrics}"
    );
    let (code, page) = get(addr, "/_raindrops");
    assert_eq!(code, 200);
    assert!(page.starts_with("calling: 0\nwriting: 0\n"), "{page}");
    assert!(page.contains(&format!("{addr} active: ")), "{page}");

    let pid = Pid::from_raw(i32::try_from(running.0.id()).unwrap());
    kill(pid, Signal::SIGQUIT).expect("SIGQUIT the master");
    let mut running = running;
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the example did not stop on SIGQUIT");
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = log.join().unwrap();
    assert!(status.success(), "{status}\n{log}");
    assert!(log.contains("master exiting"), "{log}");
}
