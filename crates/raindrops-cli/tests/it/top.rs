//! `raindrops top` against a real loopback listener with queued connections and a live
//! file-backed segment: the plain snapshot off a TTY, and the live view driven in `tmux`
//! (issue 10).
#![cfg(target_os = "linux")]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use raindrops::Workers;
use raindrops_http::middleware::HttpStats;
use raindrops_test_support::external::TMUX;
use raindrops_test_support::require_external;

use crate::util::{BIN, assert_text, raindrops};

/// A pid no process can have: Linux pids stay below `PID_MAX_LIMIT` (2^22).
const NO_SUCH_PID: u32 = 4_200_000;

/// A listener that never accepts unless told to, its clients, and a two-row HTTP segment.
struct Fixture {
    dir: tempfile::TempDir,
    listener: TcpListener,
    clients: Vec<TcpStream>,
    accepted: Vec<TcpStream>,
    workers: Workers<HttpStats>,
}

impl Fixture {
    fn new(clients: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap(); // backlog 128
        let workers = Workers::<HttpStats>::create(dir.path().join("http.drops"), 2).unwrap();
        let mut fixture =
            Fixture { dir, listener, clients: Vec::new(), accepted: Vec::new(), workers };
        fixture.connect(clients);
        fixture
    }

    /// Adds `n` clients; each is in the accept queue once `connect` returns (loopback).
    fn connect(&mut self, n: usize) {
        let addr = self.listener.local_addr().unwrap();
        self.clients.extend((0..n).map(|_| TcpStream::connect(addr).unwrap()));
    }

    /// Accepts `n` queued clients, keeping the connections open.
    fn accept(&mut self, n: usize) {
        self.accepted.extend((0..n).map(|_| self.listener.accept().unwrap().0));
    }

    fn addr(&self) -> String {
        self.listener.local_addr().unwrap().to_string()
    }

    fn segment(&self) -> PathBuf {
        self.dir.path().join("http.drops")
    }
}

#[test]
fn snapshot_off_a_tty_is_plain_text() {
    let f = Fixture::new(3);
    let (zero, one) = (f.workers.worker(0), f.workers.worker(1));
    zero.requests().add(5);
    f.workers.retire(0);
    zero.requests().add(2);
    zero.calling().incr();
    f.workers.set_pid(0, NO_SUCH_PID);
    one.requests().add(10);
    one.writing().incr();
    let addr = f.addr();
    let out = raindrops().arg("top").arg("--segment").arg(f.segment()).arg(&addr).assert();
    let out = out.success().stderr("").get_output().stdout.clone();
    let pad = " ".repeat(addr.len() - "address".len());
    assert_text(
        &format!(
            "address{pad}  active  queued\n\
             {addr}       0       3\n\
             \n\
             worker      pid  calling  writing  requests  memory  heartbeat\n\
             0       4200000        1        0         2       -          -\n\
             1             -        0        1        10       -          -\n\
             sum                    1        1        17       -\n"
        ),
        &String::from_utf8(out).unwrap(),
    );
}

#[test]
fn snapshot_errors_go_to_stderr_and_exit_1() {
    let f = Fixture::new(1);
    let addr = f.addr();
    let pad = " ".repeat(addr.len() - "address".len());
    let listeners = format!("address{pad}  active  queued\n{addr}       0       1\n");
    let missing = f.dir.path().join("missing");
    raindrops()
        .arg("top")
        .arg("--segment")
        .arg(&missing)
        .arg(&addr)
        .assert()
        .code(1)
        .stdout(listeners.clone())
        .stderr(format!("raindrops: {}: no such segment file\n", missing.display()));
    let named = f.dir.path().join("named");
    HttpStats::create(&named).unwrap();
    raindrops()
        .arg("top")
        .arg("-s")
        .arg(&named)
        .arg(&addr)
        .assert()
        .code(1)
        .stdout(listeners)
        .stderr(format!(
            "raindrops: {}: not a workers segment (it has no worker rows; `raindrops dump` \
             prints it)\n",
            named.display()
        ));
    raindrops().args(["top", "localhost:80"]).assert().code(2).stdout("");
    raindrops().args(["top", "--delay", "0"]).assert().code(2).stdout("");
}

/// A private tmux server running one `raindrops top`; killed on drop, even when a test fails.
///
/// `raindrops` runs under `sh`, which writes its exit status to a file: tmux itself sometimes
/// fails to reap a pane's process under load, so `#{pane_dead_status}` is not reliable.
pub(crate) struct Tmux {
    /// The `tmux` program, as `require_external!(TMUX)` found it.
    program: PathBuf,
    /// Holds the server's socket and the status file, removed with them.
    dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts `raindrops ARGS` in a detached 120×40 session whose pane stays after it exits,
    /// with the `tmux` at `program`.
    pub(crate) fn start(program: &Path, args: &[&str]) -> Tmux {
        let tmux = Tmux { program: program.to_owned(), dir: tempfile::tempdir().unwrap() };
        let script = format!("\"$@\"; echo $? > '{}'", tmux.status_file().display());
        let mut command = vec!["-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "40"];
        command.extend(["sh", "-c", &script, "sh", BIN]);
        command.extend(args);
        command.extend([";", "set-option", "-g", "remain-on-exit", "on"]);
        tmux.run(&command);
        tmux
    }

    /// Runs a tmux command on this server and returns its stdout.
    pub(crate) fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.program).arg("-S").arg(self.socket()).args(args).output();
        let out = out.unwrap();
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("tmux.sock")
    }

    fn status_file(&self) -> PathBuf {
        self.dir.path().join("status")
    }

    /// The pid of `raindrops`: the only child of the pane's `sh`.
    fn pid(&self) -> Pid {
        let sh = self.run(&["display-message", "-p", "#{pane_pid}"]);
        let sh = sh.trim();
        let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children")).unwrap();
        Pid::from_raw(children.trim().parse().unwrap())
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p"])
    }

    /// Polls the screen (for at most 30 s) until `done` accepts it, and returns it.
    #[track_caller]
    pub(crate) fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "no {what} on the screen within 30 s:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (at most 30 s) for `raindrops` to exit, checks it left the alternate screen, and
    /// returns its exit status as `sh` reports it (128 + N for signal N).
    #[track_caller]
    pub(crate) fn exit_status(&self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            let status = std::fs::read_to_string(self.status_file()).unwrap_or_default();
            if status.ends_with('\n') {
                break status;
            }
            assert!(Instant::now() < deadline, "still running after 30 s:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(50));
        };
        let alternate = self.run(&["display-message", "-p", "#{alternate_on}"]);
        assert_eq!(alternate, "0\n", "the alternate screen was left");
        status.trim().parse().unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Ignore failure: the server may already be gone.
        let _ =
            Command::new(&self.program).arg("-S").arg(self.socket()).arg("kill-server").output();
    }
}

/// The cells of the table row whose first cell is `first`, without the box borders.
pub(crate) fn row(screen: &str, first: &str) -> Option<Vec<String>> {
    screen.lines().find_map(|line| {
        let cells: Vec<String> =
            line.trim_matches('│').split_whitespace().map(str::to_owned).collect();
        (cells.first().map(String::as_str) == Some(first)).then_some(cells)
    })
}

/// Whether the row starting with `first` has `expected` as its next cells.
pub(crate) fn shows(screen: &str, first: &str, expected: &[&str]) -> bool {
    row(screen, first)
        .is_some_and(|cells| cells.len() > expected.len() && cells[1..=expected.len()] == *expected)
}

#[test]
fn live_view_follows_the_listener_and_the_segment() {
    let program = require_external!(TMUX);
    let mut f = Fixture::new(2);
    let pid = std::process::id().to_string();
    f.workers.set_pid(0, std::process::id());
    f.workers.worker(0).requests().add(5);
    f.workers.beat(0);
    let addr = f.addr();
    let segment = f.segment();
    let tmux = Tmux::start(
        &program,
        &["top", "--delay", "100ms", "--segment", segment.to_str().unwrap(), &addr],
    );

    // address, active, queued, peak, oldest wait; worker, pid, calling, writing, requests.
    let screen = tmux.wait_for("first sample", |s| {
        shows(s, &addr, &["0", "2", "2"]) && shows(s, "0", &[&pid, "0", "0", "5"])
    });
    // The queued connections' oldest age, from the kernel: a duration such as `120ms`.
    let wait = row(&screen, &addr).unwrap()[4].clone();
    assert!(wait.ends_with('s') && wait.starts_with(|c: char| c.is_ascii_digit()), "{screen}");
    assert!(shows(&screen, "1", &["-", "0", "0", "0", "-", "-"]), "{screen}");
    assert_eq!(tmux.run(&["display-message", "-p", "#{alternate_on}"]), "1\n");
    assert!(shows(&screen, "sum", &["0", "0", "5"]), "{screen}");
    let zero = row(&screen, "0").unwrap();
    let (memory, age) = (&zero[5], &zero[6]);
    let number = memory.trim_end_matches(['K', 'M', 'G']);
    assert!(number.len() < memory.len() && number.parse::<f64>().unwrap() > 0.0, "{memory}");
    assert!(age.ends_with('s') && age.starts_with(|c: char| c.is_ascii_digit()), "{age}");

    f.connect(3);
    f.workers.worker(0).requests().add(7);
    f.workers.worker(0).calling().incr();
    f.workers.worker(1).writing().incr();
    let screen = tmux.wait_for("more clients and requests", |s| {
        shows(s, &addr, &["0", "5", "5"]) && shows(s, "0", &[&pid, "1", "0", "12"])
    });
    assert!(shows(&screen, "1", &["-", "0", "1", "0"]), "{screen}");
    assert!(shows(&screen, "sum", &["1", "1", "12"]), "{screen}");

    // Accepting moves connections from queued to active; the peak stays.
    f.accept(4);
    tmux.wait_for("accepted clients", |s| shows(s, &addr, &["4", "1", "5"]));

    // Filtering by typing, then clearing; sorting by address.
    tmux.run(&["send-keys", "/", "no-such-address"]);
    tmux.wait_for("an empty filter result", |s| {
        s.contains("listeners (0 of 1)") && row(s, &addr).is_none()
    });
    // Esc alone: an Esc followed at once by a key reads as Alt+key.
    tmux.run(&["send-keys", "Escape"]);
    tmux.wait_for("the filter cleared", |s| {
        s.contains("listeners (1 of 1)") && s.contains(" q quit")
    });
    tmux.run(&["send-keys", "1"]);
    let screen = tmux.wait_for("the address order", |s| s.contains("address▲"));
    assert!(shows(&screen, &addr, &["4", "1", "5"]), "{screen}");
    tmux.run(&["send-keys", "5"]);
    tmux.wait_for("the oldest-wait order", |s| s.contains("oldest wait▼"));

    // A resize redraws at the new size.
    let width = |s: &str| s.lines().next().map_or(0, |line| line.chars().count());
    assert_eq!(width(&tmux.screen()), 120);
    tmux.run(&["resize-window", "-x", "90", "-y", "30"]);
    tmux.wait_for("a 90-column frame", |s| {
        width(s) == 90 && s.lines().next().unwrap().ends_with('┐')
    });

    // q quits with status 0 and leaves the alternate screen.
    tmux.run(&["send-keys", "q"]);
    assert_eq!(tmux.exit_status(), 0);
}

#[test]
fn live_view_shows_segment_errors_and_recovers() {
    let program = require_external!(TMUX);
    let f = Fixture::new(1);
    let addr = f.addr();
    let later = f.dir.path().join("later.drops");
    let tmux = Tmux::start(&program, &["top", "-d", "100ms", "-s", later.to_str().unwrap(), &addr]);
    tmux.wait_for("the missing file", |s| {
        s.contains(&format!("{}: no such segment file", later.display()))
            && shows(s, &addr, &["0", "1", "1"])
    });
    std::fs::write(&later, "hello, world! this is not a segment file at all, no sir.......")
        .unwrap();
    tmux.wait_for("the foreign file", |s| s.contains("not a raindrops segment"));
    // `create` replaces the file by rename: the next sample opens the new one.
    let workers = Workers::<HttpStats>::create(&later, 1).unwrap();
    workers.worker(0).requests().add(3);
    tmux.wait_for("the new segment", |s| shows(s, "sum", &["0", "0", "3"]));
    tmux.run(&["send-keys", "C-c"]);
    assert_eq!(tmux.exit_status(), 0);
}

#[test]
fn sigterm_restores_the_terminal_then_dies_of_it() {
    let program = require_external!(TMUX);
    let f = Fixture::new(1);
    let addr = f.addr();
    let tmux = Tmux::start(&program, &["top", "-d", "100ms", &addr]);
    tmux.wait_for("the listener", |s| shows(s, &addr, &["0", "1", "1"]));
    kill(tmux.pid(), Signal::SIGTERM).unwrap();
    assert_eq!(tmux.exit_status(), 128 + 15, "died of SIGTERM");
}
