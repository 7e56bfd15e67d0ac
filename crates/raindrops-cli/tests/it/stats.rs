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
pub(crate) struct Fixture {
    dir: tempfile::TempDir,
    tcp: TcpListener,
    _tcp_conns: Vec<TcpStream>,
    unix_path: PathBuf,
    _unix: UnixListener,
    _unix_conns: Vec<UnixStream>,
}

impl Fixture {
    pub(crate) fn new(bind: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let tcp = TcpListener::bind(bind).unwrap(); // std listens with backlog 128
        let port = tcp.local_addr().unwrap().port();
        let mut conns: Vec<TcpStream> =
            (0..5).map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
        conns.extend((0..2).map(|_| tcp.accept().unwrap().0));
        // `connect` returns before the listener has queued the connection: wait until the
        // kernel shows all five (bounded).
        let addr = tcp.local_addr().unwrap();
        let want = raindrops::ListenStats { active: 2, queued: 3 };
        let mut diag = raindrops::SockDiag::new().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while diag.tcp_stats(addr).unwrap() != want {
            assert!(std::time::Instant::now() < deadline, "{addr} never showed {want:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
        let unix_path = dir.path().join("u.sock");
        let unix = UnixListener::bind(&unix_path).unwrap();
        let mut unix_conns: Vec<UnixStream> =
            (0..5).map(|_| UnixStream::connect(&unix_path).unwrap()).collect();
        unix_conns.extend((0..2).map(|_| unix.accept().unwrap().0));
        Fixture { dir, tcp, _tcp_conns: conns, unix_path, _unix: unix, _unix_conns: unix_conns }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.tcp.local_addr().unwrap()
    }

    pub(crate) fn unix(&self) -> &str {
        self.unix_path.to_str().unwrap()
    }

    /// Its temporary directory (holding the Unix socket).
    pub(crate) fn dir_path(&self) -> &std::path::Path {
        self.dir.path()
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
        Running::spawn(args, false)
    }

    /// Like `start`, with stdout and stderr on one pipe: every line arrives on `stderr`, in
    /// the order the child wrote it (`stdout` stays empty).
    fn start_merged(args: &[&str]) -> Running {
        Running::spawn(args, true)
    }

    fn spawn(args: &[&str], merged: bool) -> Running {
        let mut command = Command::new(BIN);
        command.arg("stats").args(args);
        let (child, stdout, stderr) = if merged {
            let (read, write) = nix::unistd::pipe().unwrap();
            command.stdout(write.try_clone().unwrap()).stderr(write);
            let child = command.spawn().unwrap();
            drop(command); // our copies of the write end: EOF once the child exits
            (child, mpsc::channel().1, lines(std::fs::File::from(read)))
        } else {
            let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
            let stdout = lines(child.stdout.take().unwrap());
            let stderr = lines(child.stderr.take().unwrap());
            (child, stdout, stderr)
        };
        let r = Running { child, stdout, stderr };
        let ready = r.stderr_line();
        assert!(ready.starts_with("USR1(dump_aggregate) and USR2(reset) handlers ready for PID="));
        let len = args.iter().filter(|a| !a.starts_with('-')).map(|a| a.len()).max().unwrap_or(0);
        assert_eq!(r.stderr_line() + "\n", header(len.clamp(7, 35)));
        r
    }

    fn stderr_line(&self) -> String {
        self.stderr.recv_timeout(Duration::from_secs(30)).expect("a line on stderr")
    }

    fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }
}

/// A USR1 dump read from a merged stream: `(address column, count)` per section, and how
/// many samples the child had printed before it.
struct Dump {
    counts: Vec<(String, u64)>,
    printed: u64,
}

/// Reads the merged stream of `r` until a complete dump of `sections` sections (each ends
/// with its histogram's `Total` line), counting sample rows (`rows` per sample) on the way;
/// sends USR1 again after every `resend` samples without a dump (`None`: never).
fn next_dump(
    r: &Running,
    samples: &mut u64,
    rows: u64,
    sections: usize,
    resend: Option<u64>,
) -> Dump {
    let (mut row_lines, mut since_signal) = (0, 0);
    let mut counts: Vec<(String, u64)> = Vec::new();
    loop {
        let line = r.stderr_line();
        if let Some(head) = line.strip_prefix("--- ") {
            counts.push((head.trim_end_matches(" ---").to_owned(), 0));
        } else if let Some(n) = line.strip_prefix("count=") {
            counts.last_mut().unwrap().1 = n.parse().unwrap();
        } else if line.starts_with("Total") {
            if counts.len() == sections {
                return Dump { counts, printed: *samples };
            }
        } else if line.ends_with(&format!("{:>10} {:>10}", 2, 3)) && counts.is_empty() {
            row_lines += 1;
            if row_lines == rows {
                (row_lines, *samples, since_signal) = (0, *samples + 1, since_signal + 1);
            }
            if resend.is_some_and(|every| since_signal >= every) {
                since_signal = 0;
                r.signal(Signal::SIGUSR1);
            }
        }
    }
}

#[test]
fn delay_with_usr1_usr2_and_sigint() {
    let f = Fixture::new("127.0.0.1:0");
    let addr = f.addr().to_string();
    // One stream, in the order written: a dump's place among the samples is exact.
    let mut r = Running::start_merged(&["-d", "0.05", &addr, f.unix()]);
    let mut samples = 0;
    for _ in 0..6 {
        let line = r.stderr_line();
        assert!(line.ends_with("          2          3"), "{line:?}");
    }
    samples += 3;
    r.signal(Signal::SIGUSR1);
    let dump = next_dump(&r, &mut samples, 2, 4, None);
    let names: Vec<&str> = dump.counts.iter().map(|(n, _)| n.as_str()).collect();
    let (active, queued) = (format!("{addr} active"), format!("{addr} queued"));
    let (u_active, u_queued) = (format!("{} active", f.unix()), format!("{} queued", f.unix()));
    assert_eq!(names, [&active, &queued, &u_active, &u_queued]);
    assert!(dump.counts.iter().all(|(_, n)| *n >= 3), "{:?}", dump.counts);

    // Reset, then dump (again after each sample that shows no dump: a dump right after the
    // reset, before any sample, is empty) until a dump comes after the reset: it counts
    // fewer samples than were printed before it. Every sample printed before USR2 was sent
    // came before the reset, so the dump counts none of those.
    let before_reset = samples;
    r.signal(Signal::SIGUSR2);
    let after = loop {
        r.signal(Signal::SIGUSR1);
        let dump = next_dump(&r, &mut samples, 2, 4, Some(1));
        if dump.counts.iter().all(|(_, n)| *n < dump.printed) {
            break dump;
        }
        // A dump before the reset counts every sample printed.
        assert!(dump.counts.iter().all(|(_, n)| *n == dump.printed), "{:?}", dump.counts);
    };
    let most = after.printed - before_reset;
    assert!(after.counts.iter().all(|(_, n)| (1..=most).contains(n)), "{:?}", after.counts);
    assert_eq!(after.counts.len(), 4);
    r.signal(Signal::SIGINT);
    let status = r.child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
}

#[test]
fn closed_stdout_exits_0() {
    let f = Fixture::new("127.0.0.1:0");
    let addr = f.addr().to_string();
    let mut r = Running::start(&["-d", "0.02", &addr]);
    r.stdout.recv_timeout(Duration::from_secs(30)).unwrap();
    // Closing our end: the reader thread exits once it sees the channel gone; kill its pipe
    // by dropping the receiver, then the child's next write fails with EPIPE.
    drop(std::mem::replace(&mut r.stdout, mpsc::channel().1));
    let status = r.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(r.stderr.try_iter().all(|l| !l.starts_with("raindrops:")), "no error printed");
}
