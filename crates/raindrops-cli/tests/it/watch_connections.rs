//! `raindrops watch` under hostile clients (issue 14, item 3): the real binary, real sockets on loopback.
//!
//! Slow clients (slowloris), more half-sent requests than the process has descriptors, idle
//! keep-alive connections and `/tail` streams against the connection policy: other clients
//! are answered within 1 s throughout (the bound), and the slow ones are closed.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::serve::get;
use crate::util::BIN;

/// How long any wait here may take before the test fails (generous: a busy 2-core machine).
const DEADLINE: Duration = Duration::from_secs(30);
/// The bound on answering a normal client while others attack.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// A running `raindrops watch` on a free loopback port watching a listener of its own,
/// killed on drop.
struct Watch {
    child: Child,
    addr: SocketAddr,
    /// The watched listener, as it appears in Watcher URLs.
    watched: String,
    _listener: TcpListener,
}

impl Watch {
    /// `raindrops watch --listen 127.0.0.1:0 ARGS... ADDR`, under `ulimit -n NOFILE` if given,
    /// once it serves.
    fn start(nofile: Option<u32>, args: &[&str]) -> Watch {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let watched = listener.local_addr().unwrap().to_string();
        let mut command = match nofile {
            // `exec`: the pid is the Watcher's, the limit its own.
            Some(n) => {
                let mut sh = Command::new("sh");
                sh.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\""), BIN]);
                sh
            }
            None => Command::new(BIN),
        };
        let mut child = command
            .args(["watch", "--listen", "127.0.0.1:0", "--delay", "100ms"])
            .args(args)
            .arg(&watched)
            .stderr(Stdio::piped())
            .spawn()
            .expect("run raindrops watch");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let prefix = "raindrops watch: serving http://";
        let mut line = String::new();
        while !line.starts_with(prefix) {
            line.clear();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "watch exited before serving");
        }
        let addr = line.trim_end()[prefix.len()..].trim_end_matches('/').parse().unwrap();
        std::thread::spawn(move || for _ in stderr.lines().map_while(Result::ok) {});
        let watched = watched.replace(':', "%3A");
        Watch { child, addr, watched, _listener: listener }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the server has closed `stream` (EOF or an error), reading without blocking;
/// anything the server sent first (a 503) is discarded.
fn closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// `n` connections that each sent `head` (an unfinished request head), non-blocking.
fn half_sent(addr: SocketAddr, n: usize, head: &str) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(head.as_bytes()).unwrap();
            stream.set_nonblocking(true).unwrap();
            stream
        })
        .collect()
}

/// Sends normal requests, one after another, while `running`; asserts each is answered
/// within [`ANSWER_WITHIN`] with one of `statuses`. Returns how many got 200.
fn probe(
    addr: SocketAddr,
    statuses: &'static [u16],
    running: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut ok = 0;
        while running.load(Ordering::Relaxed) {
            let start = Instant::now();
            let (status, body) = get(addr, "/").expect("a normal client is answered");
            let took = start.elapsed();
            assert!(took < ANSWER_WITHIN, "a normal client waited {took:?} (status {status})");
            assert!(statuses.contains(&status), "status {status}: {body}");
            ok += usize::from(status == 200);
            std::thread::sleep(Duration::from_millis(50));
        }
        ok
    })
}

/// Waits, with [`DEADLINE`], until the server has closed every stream of `slow`, calling
/// `each_round` on the open ones between checks.
fn wait_all_closed(slow: &mut Vec<TcpStream>, mut each_round: impl FnMut(&mut TcpStream)) {
    let start = Instant::now();
    while !slow.is_empty() {
        slow.retain_mut(|stream| !closed(stream));
        slow.iter_mut().for_each(&mut each_round);
        assert!(
            start.elapsed() < DEADLINE,
            "{} slow connections still open after {DEADLINE:?}",
            slow.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// 200 clients sending their request head a byte at a time are all closed by the header
/// timeout, while a normal client is answered within 1 s throughout.
#[test]
fn slowloris_clients_are_closed_and_others_answered() {
    let watch = Watch::start(None, &["--header-timeout", "2s"]);
    let mut slow = half_sent(watch.addr, 200, "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
    let running = Arc::new(AtomicBool::new(true));
    let prober = probe(watch.addr, &[200], Arc::clone(&running));
    // One more header byte per client per round: each keeps "sending".
    wait_all_closed(&mut slow, |stream| drop(stream.write(b"a")));
    running.store(false, Ordering::Relaxed);
    assert!(prober.join().expect("every probe answered in time") > 0);
}

/// Under `ulimit -n 256`, 300 half-sent requests (more than the Watcher has descriptors):
/// the cap, below the limit, makes each new connection beyond it replace the oldest
/// half-sent one (or, while too many are closing, answers 503 at once); normal clients are
/// answered within 1 s, with 200 (a 503 is tolerated, not all of them), and the slow ones
/// are closed.
#[test]
fn half_sent_requests_beyond_the_descriptor_limit_do_not_blind_the_watcher() {
    let watch = Watch::start(Some(256), &["--header-timeout", "3s"]);
    let mut slow = half_sent(watch.addr, 300, "GET / HTTP/1.1\r\nHost: t\r\n");
    let running = Arc::new(AtomicBool::new(true));
    let prober = probe(watch.addr, &[200, 503], Arc::clone(&running));
    wait_all_closed(&mut slow, |_| {});
    running.store(false, Ordering::Relaxed);
    assert!(prober.join().expect("every probe answered in time") > 0, "no probe got 200");
    assert_eq!(get(watch.addr, "/").unwrap().0, 200);
}

/// Reads one HTTP/1.1 response with a `content-length` from `stream`; its status.
fn read_response(stream: &mut BufReader<TcpStream>) -> u16 {
    let mut line = String::new();
    stream.read_line(&mut line).unwrap();
    let status = line.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut length = 0;
    loop {
        line.clear();
        stream.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    status
}

/// A keep-alive connection that sends no next request is closed by the idle timeout (1 s
/// here; the header timeout, 60 s, cannot be what closes it).
#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let watch = Watch::start(None, &["--idle-timeout", "1s", "--header-timeout", "60s"]);
    assert_idle_connection_closed(watch.addr, "/");
}

/// Sends two requests for `path` on one keep-alive connection to `addr` (200 each), then
/// sends nothing: the server must close the connection within [`DEADLINE`].
#[track_caller]
pub(crate) fn assert_idle_connection_closed(addr: SocketAddr, path: &str) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for _ in 0..2 {
        (&stream).write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
        assert_eq!(read_response(&mut reader), 200);
    }
    let start = Instant::now();
    let mut rest = Vec::new();
    let eof = reader.read_to_end(&mut rest);
    assert!(matches!(eof, Ok(0)), "{eof:?} {rest:?} after {:?}", start.elapsed());
    assert!(start.elapsed() < DEADLINE);
}

/// `/tail` streams outlive the idle timeout; beyond `--max-streams` they get 503, and a
/// slot is free again once a stream ends.
#[test]
fn tail_streams_outlive_the_idle_timeout_within_their_own_cap() {
    let watch = Watch::start(None, &["--idle-timeout", "1s", "--max-streams", "1"]);
    let path = format!("/tail/{}.txt", watch.watched);
    let stream = TcpStream::connect(watch.addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    (&stream).write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    // Samples keep coming for three idle timeouts: the stream is not idle.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the tail was closed");
    }
    let (status, body) = get(watch.addr, &path).unwrap();
    assert_eq!(status, 503, "{body}");
    drop((reader, stream));
    let start = Instant::now();
    loop {
        // A stream that is let in never ends: read its status line only.
        let mut second = TcpStream::connect(watch.addr).unwrap();
        second.set_read_timeout(Some(DEADLINE)).unwrap();
        second.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
        let mut status = String::new();
        BufReader::new(second).read_line(&mut status).unwrap();
        if status.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "the slot was not given back: {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
