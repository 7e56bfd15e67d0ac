//! `raindrops watch` with no ADDR (every listener of the host) while a local user opens and
//! closes listeners by the thousand: its memory stays bounded (issue 14, item 4).
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::serve::{DEADLINE, wait_for};
use crate::util::BIN;

/// Listeners open at once: each batch is alive in at least one sample, and stays well under
/// a `ulimit -n` of 1024.
const BATCH: usize = 500;

/// A running `raindrops watch --listen 127.0.0.1:0 ARGS...`, its stderr in a file; killed on
/// drop.
pub(crate) struct Watch {
    child: Child,
    pub(crate) addr: SocketAddr,
    _dir: tempfile::TempDir,
    stderr: std::path::PathBuf,
}

impl Watch {
    pub(crate) fn start(args: &[&str]) -> Watch {
        let dir = tempfile::tempdir().unwrap();
        let stderr = dir.path().join("stderr");
        let child = Command::new(BIN)
            .args(["watch", "--listen", "127.0.0.1:0"])
            .args(args)
            .stderr(std::fs::File::create(&stderr).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .expect("run raindrops watch");
        let mut watch = Watch { child, addr: "0.0.0.0:0".parse().unwrap(), _dir: dir, stderr };
        let prefix = "raindrops watch: serving http://";
        watch.addr = wait_for("the Watcher to serve", || {
            let log = watch.log();
            let line = log.lines().find(|l| l.starts_with(prefix))?;
            line[prefix.len()..].trim_end_matches('/').parse().ok()
        });
        watch
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }

    /// The child's resident set in kB (`VmRSS` of `/proc/PID/status`).
    fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("a VmRSS line");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Opens a tail of `addr` and reads until a line about it arrives: a sample taken after
    /// the tail was opened listed `addr` (tracked or not).
    fn wait_listed(&self, addr: SocketAddr) {
        let mut stream = TcpStream::connect_timeout(&self.addr, DEADLINE).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let path = format!("/tail/{}.json", addr.to_string().replace(':', "%3A"));
        stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
        let (needle, mut seen, mut buf) =
            (format!("\"address\":\"{addr}\""), Vec::new(), [0; 4096]);
        while !String::from_utf8_lossy(&seen).contains(&needle) {
            let n = stream.read(&mut buf).expect("a tail line within the deadline");
            assert_ne!(n, 0, "tail closed: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
    }

    /// Opens `batches` batches of `batch` listeners, one batch at a time, each listener on an
    /// address never used before (`127.1.X.Y`, numbered from `first`: ports alone would
    /// repeat); each batch is closed once a sample has listed all of it. Returns the next
    /// unused number.
    fn churn(&self, first: usize, batches: usize, batch: usize) -> usize {
        let mut next = first;
        for _ in 0..batches {
            let listeners: Vec<TcpListener> = (next..next + batch)
                .map(|n| {
                    let ip = [127, 1, (n / 250 % 250) as u8, (n % 250 + 1) as u8];
                    TcpListener::bind((std::net::Ipv4Addr::from(ip), 0)).unwrap()
                })
                .collect();
            next += batch;
            // A sample that lists the last one was taken after every one was bound.
            self.wait_listed(listeners.last().unwrap().local_addr().unwrap());
        }
        next
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

#[test]
fn churning_20000_listeners_grows_rss_by_less_than_16_mb() {
    let watch = Watch::start(&["--delay", "50ms"]);
    // Warm up: allocator pools, the runtime's threads, a thousand tracked addresses.
    let next = watch.churn(0, 2, BATCH);
    let before = watch.rss_kb();
    watch.churn(next, 20_000 / BATCH, BATCH);
    let after = watch.rss_kb();
    let grown = after.saturating_sub(before);
    eprintln!("raindrops watch RSS: {before} kB after warm-up, {after} kB after 20,000 listeners");
    assert!(grown < 16 * 1024, "RSS grew by {grown} kB: {before} -> {after} kB");
}

#[test]
fn the_cap_is_logged_once() {
    let watch = Watch::start(&["--delay", "50ms", "--max-addresses", "64"]);
    // More new listeners in each sample than the cap: it bites in every one of them.
    watch.churn(0, 3, 100);
    let log = watch.log();
    let warnings = log.lines().filter(|l| l.contains("the cap of 64 tracked addresses")).count();
    assert_eq!(warnings, 1, "{log}");
}

#[test]
fn max_addresses_zero_is_a_usage_error() {
    crate::util::raindrops()
        .args(["watch", "--listen", "127.0.0.1:0", "--max-addresses", "0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--max-addresses"));
}
