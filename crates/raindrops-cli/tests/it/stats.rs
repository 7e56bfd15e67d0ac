//! `raindrops stats` against real loopback listeners (issue 4).
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use raindrops_test_support::external::{RUBY_LISTENER_STATS, RUBY_RAINDROPS};
use raindrops_test_support::require_external;

use crate::util::{BIN, assert_text, raindrops_in};

fn header(len: usize) -> String {
    format!("{:>20} {:>len$} {:>10} {:>10}\n", "timestamp", "address", "active", "queued")
}

/// A TCP listener with 5 clients, 2 accepted (active 2, queued 3), and the same for Unix.
struct Fixture {
    dir: tempfile::TempDir,
    tcp: TcpListener,
    _tcp_conns: Vec<TcpStream>,
    unix_path: PathBuf,
    _unix: UnixListener,
    _unix_conns: Vec<UnixStream>,
}

impl Fixture {
    fn new(bind: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let tcp = TcpListener::bind(bind).unwrap(); // std listens with backlog 128
        let port = tcp.local_addr().unwrap().port();
        let mut conns: Vec<TcpStream> =
            (0..5).map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
        conns.extend((0..2).map(|_| tcp.accept().unwrap().0));
        let unix_path = dir.path().join("u.sock");
        let unix = UnixListener::bind(&unix_path).unwrap();
        let mut unix_conns: Vec<UnixStream> =
            (0..5).map(|_| UnixStream::connect(&unix_path).unwrap()).collect();
        unix_conns.extend((0..2).map(|_| unix.accept().unwrap().0));
        Fixture { dir, tcp, _tcp_conns: conns, unix_path, _unix: unix, _unix_conns: unix_conns }
    }

    fn addr(&self) -> SocketAddr {
        self.tcp.local_addr().unwrap()
    }

    fn unix(&self) -> &str {
        self.unix_path.to_str().unwrap()
    }
}

/// Replaces each row's timestamp (checked to be ISO-8601 UTC) with a fixed one.
fn normalize(stdout: &str) -> String {
    stdout
        .lines()
        .map(|line| {
            let (ts, rest) = line.split_at(20);
            let b = ts.as_bytes();
            assert!(
                b[4] == b'-' && b[10] == b'T' && b[13] == b':' && b[19] == b'Z',
                "not a timestamp: {ts:?}"
            );
            format!("2026-11-22T21:59:49Z{rest}\n")
        })
        .collect()
}

#[test]
fn exact_text_output() {
    let f = Fixture::new("127.0.0.1:0");
    let addr = f.addr().to_string();
    let out = raindrops_in(f.dir.path()).args(["stats", &addr, f.unix()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let len = addr.len().max(f.unix().len()).min(35);
    let row = |a: &str| format!("2026-11-22T21:59:49Z {a:>len$}          2          3\n");
    assert_text(
        &(row(&addr) + &row(f.unix())),
        &normalize(&String::from_utf8(out.stdout).unwrap()),
    );
    assert_text(&header(len), &String::from_utf8(out.stderr).unwrap());
}

/// Byte for byte the Ruby tool's output, where raindrops itself is right (one address, bound
/// to that address; and a Unix path).
#[test]
fn same_bytes_as_the_ruby_tool() {
    let (ruby, script) = require_external!(RUBY_RAINDROPS, RUBY_LISTENER_STATS);
    let f = Fixture::new("127.0.0.1:0");
    let addr = f.addr().to_string();
    let ours = raindrops_in(f.dir.path()).args(["stats", &addr, f.unix()]).output().unwrap();
    let ruby = Command::new(ruby).arg(script).args([&addr, f.unix()]).output().unwrap();
    assert_eq!(ruby.status.code(), Some(0), "{}", String::from_utf8_lossy(&ruby.stderr));
    assert_text(
        &normalize(&String::from_utf8(ruby.stdout).unwrap()),
        &normalize(&String::from_utf8(ours.stdout).unwrap()),
    );
    assert_text(&String::from_utf8(ruby.stderr).unwrap(), &String::from_utf8(ours.stderr).unwrap());
}

#[test]
fn the_address_column_is_at_least_7_and_at_most_35() {
    let f = Fixture::new("127.0.0.1:0");
    let long = format!("{}/{}", f.dir.path().display(), "x".repeat(40));
    let out = raindrops_in(f.dir.path()).args(["stats", &long]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.len(), 20 + 1 + 35 + 1 + 10 + 1 + 10 + 1, "{stderr:?}");
    let row = String::from_utf8(out.stdout).unwrap();
    assert!(row.contains(&format!(" {long}          0          0\n")), "{row:?}");
}

#[test]
fn threshold() {
    let f = Fixture::new("127.0.0.1:0");
    let addr = f.addr().to_string();
    let shown = raindrops_in(f.dir.path()).args(["stats", "-t", "3", &addr]).output().unwrap();
    assert_eq!(String::from_utf8(shown.stdout).unwrap().lines().count(), 1);
    let hidden = raindrops_in(f.dir.path()).args(["stats", "-t", "4", &addr]).output().unwrap();
    assert_eq!(hidden.status.code(), Some(0));
    assert_text("", &String::from_utf8(hidden.stdout).unwrap());
}

#[test]
fn bad_address_exits_2_with_nothing_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["127.0.0.1", "localhost:80", "[::1:80", "127.0.0.1:70000", ""] {
        let out = raindrops_in(dir.path()).args(["stats", "127.0.0.1:1", bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(&format!("{bad:?}")), "{stderr}");
    }
}

#[test]
fn warns_when_the_listener_is_on_the_wildcard() {
    let f = Fixture::new("0.0.0.0:0");
    let port = f.addr().port();
    let out =
        raindrops_in(f.dir.path()).args(["stats", &format!("127.0.0.1:{port}")]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let warn = format!("W: 127.0.0.1:{port} not found\nW: Did you mean 0.0.0.0:{port}?\n");
    assert!(stderr.starts_with(&warn), "{stderr}");
    // No warning when the address is right.
    let wild = format!("0.0.0.0:{port}");
    let out = raindrops_in(f.dir.path()).args(["stats", &wild]).output().unwrap();
    assert_text(&header(wild.len()), &String::from_utf8(out.stderr).unwrap());
}

#[test]
fn json_parses_back() {
    let f = Fixture::new("127.0.0.1:0");
    let addr = f.addr().to_string();
    let out = raindrops_in(f.dir.path())
        .args(["stats", "--format", "json", &addr, f.unix()])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ts = v["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), 20);
    let rows = v["listeners"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (row, name) in rows.iter().zip([addr.as_str(), f.unix()]) {
        assert_eq!(row["address"], name);
        assert_eq!(row["active"], 2);
        assert_eq!(row["queued"], 3);
    }
}

#[test]
fn prometheus_parses_back() {
    let f = Fixture::new("127.0.0.1:0");
    let addr = f.addr().to_string();
    let out = raindrops_in(f.dir.path())
        .args(["stats", "--format", "prometheus", &addr, f.unix()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut samples = Vec::new();
    let mut typed = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, "gauge");
            typed.push(name.to_owned());
        } else if !line.starts_with("# HELP ") {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = series.split_once('{').unwrap();
            let label = labels.strip_prefix("addr=\"").unwrap().strip_suffix("\"}").unwrap();
            assert!(typed.iter().any(|t| t == name), "{name} has no TYPE line before it");
            samples.push((name.to_owned(), label.to_owned(), value.parse::<u32>().unwrap()));
        }
    }
    let get = |n: &str, a: &str| samples.iter().find(|s| s.0 == n && s.1 == a).map(|s| s.2);
    assert_eq!(get("raindrops_listener_active", &addr), Some(2));
    assert_eq!(get("raindrops_listener_queued", &addr), Some(3));
    assert_eq!(get("raindrops_listener_active", f.unix()), Some(2));
    assert_eq!(get("raindrops_listener_queued", f.unix()), Some(3));
    assert_eq!(samples.len(), 4);
}

#[test]
fn queued_only_and_all_listeners() {
    let f = Fixture::new("127.0.0.1:0");
    let addr = f.addr().to_string();
    let out = raindrops_in(f.dir.path()).args(["stats", "--queued-only", &addr]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with(&format!(" {addr}          -          3\n")), "{stdout:?}");
    // No ADDR: every TCP listener, ours among them; --unix adds ours too.
    let out = raindrops_in(f.dir.path()).args(["stats", "--unix", "-a"]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(&format!(" {addr}          2          3\n")), "{stdout}");
    assert!(stdout.contains(&format!("{}          2          3\n", f.unix())), "{stdout}");
}

/// A `raindrops stats -d` child whose stdout and stderr lines arrive on channels.
struct Running {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

fn lines(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .arg("stats")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let r = Running { child, stdout, stderr };
        let ready = r.stderr_line();
        assert!(ready.starts_with("USR1(dump_aggregate) and USR2(reset) handlers ready for PID="));
        let len = args.iter().filter(|a| !a.starts_with('-')).map(|a| a.len()).max().unwrap_or(0);
        assert_eq!(r.stderr_line() + "\n", header(len.clamp(7, 35)));
        r
    }

    fn stderr_line(&self) -> String {
        self.stderr.recv_timeout(Duration::from_secs(10)).expect("a line on stderr")
    }

    fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// Reads one USR1 dump: `(address, column) -> count`.
    fn dump(&self) -> Vec<(String, u64)> {
        self.signal(Signal::SIGUSR1);
        let mut counts = Vec::new();
        // Every section ends with the histogram's "Total" line and two blank lines; the dump
        // ends when no line arrives for a moment.
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(500)) {
            if let Some(head) = line.strip_prefix("--- ") {
                counts.push((head.trim_end_matches(" ---").to_owned(), 0));
            } else if let Some(n) = line.strip_prefix("count=") {
                counts.last_mut().unwrap().1 = n.parse().unwrap();
            }
        }
        counts
    }
}

#[test]
fn delay_with_usr1_usr2_and_sigint() {
    let f = Fixture::new("127.0.0.1:0");
    let addr = f.addr().to_string();
    let mut r = Running::start(&["-d", "0.05", &addr, f.unix()]);
    for _ in 0..6 {
        let line = r.stdout.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(line.ends_with("          2          3"), "{line:?}");
    }
    let dump = r.dump();
    let names: Vec<&str> = dump.iter().map(|(n, _)| n.as_str()).collect();
    let (active, queued) = (format!("{addr} active"), format!("{addr} queued"));
    let (u_active, u_queued) = (format!("{} active", f.unix()), format!("{} queued", f.unix()));
    assert_eq!(names, [&active, &queued, &u_active, &u_queued]);
    assert!(dump.iter().all(|(_, n)| *n >= 3), "{dump:?}");
    r.signal(Signal::SIGUSR2);
    std::thread::sleep(Duration::from_millis(20));
    let after = r.dump();
    // Reset: at most the samples of the dump's own 500 ms quiet wait (10 at 50 ms) remain.
    assert!(after.iter().all(|(_, n)| *n <= 12), "{after:?}");
    assert!(
        after.iter().map(|(_, n)| n).sum::<u64>() < dump.iter().map(|(_, n)| n).sum::<u64>() + 40
    );
    r.signal(Signal::SIGINT);
    let status = r.child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
}

#[test]
fn closed_stdout_exits_0() {
    let f = Fixture::new("127.0.0.1:0");
    let addr = f.addr().to_string();
    let mut r = Running::start(&["-d", "0.02", &addr]);
    r.stdout.recv_timeout(Duration::from_secs(10)).unwrap();
    // Closing our end: the reader thread exits once it sees the channel gone; kill its pipe
    // by dropping the receiver, then the child's next write fails with EPIPE.
    drop(std::mem::replace(&mut r.stdout, mpsc::channel().1));
    let status = r.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(r.stderr.try_iter().all(|l| !l.starts_with("raindrops:")), "no error printed");
}
