//! `raindrops serve`: the real binary, real workers, real signals, HTTP on loopback.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::util::BIN;

/// How long any wait here may take before the test fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(30);

#[track_caller]
pub(crate) fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "gave up after {DEADLINE:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `raindrops serve` on a free loopback port, killed on drop if still running.
pub(crate) struct Serve {
    child: Child,
    pub(crate) addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    fn start(workers: u16) -> Serve {
        Serve::start_with(workers, &[])
    }

    /// `raindrops serve --workers N --listen 127.0.0.1:0 ARGS...`, once every worker serves.
    pub(crate) fn start_with(workers: u16, args: &[&str]) -> Serve {
        let mut child = Command::new(BIN)
            .args(["serve", "--workers", &workers.to_string(), "--listen", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("run raindrops serve");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stderr, sink) = (child.stderr.take().unwrap(), Arc::clone(&log));
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut serve = Serve { child, addr: "0.0.0.0:0".parse().unwrap(), log };
        let prefix = "raindrops serve: listening on http://";
        let line = serve.wait_log(|l| l.starts_with(prefix));
        serve.addr = line[prefix.len()..].trim_end_matches('/').parse().unwrap();
        wait_for("every worker serving", || {
            let ready =
                serve.log().iter().any(|l| l.ends_with(&format!("{workers} workers serving")));
            (ready && serve.workers().len() == usize::from(workers)).then_some(())
        });
        serve
    }

    pub(crate) fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Stops the server gracefully (SIGQUIT) and waits for the master to exit.
    pub(crate) fn quit(&mut self) -> std::process::ExitStatus {
        kill(self.pid(), Signal::SIGQUIT).unwrap();
        wait_for("the master to exit", || self.child.try_wait().unwrap())
    }

    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    #[track_caller]
    pub(crate) fn wait_log(&self, matches: impl Fn(&str) -> bool) -> String {
        wait_for("a log line", || self.log().into_iter().find(|l| matches(l)))
    }

    /// The live worker pids (children of the master, zombies excluded).
    fn workers(&self) -> Vec<u32> {
        let master = self.child.id();
        let mut pids: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|pid: &u32| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let rest = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
                let mut fields = rest.split(' ');
                fields.next() != Some("Z") && fields.next() == Some(&master.to_string())
            })
            .collect();
        pids.sort_unstable();
        pids
    }

    /// The requests received so far (stats requests aside), summed over the workers.
    fn requests(&self) -> u64 {
        let (status, body) = get(self.addr, "/_raindrops.json").expect("stats");
        assert_eq!(status, 200);
        let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        value["requests"].as_u64().unwrap_or_else(|| panic!("no requests: {body}"))
    }

    /// `calling` as reported by whichever worker answers `/_raindrops`.
    fn calling(&self) -> u64 {
        let (status, body) = get(self.addr, "/_raindrops").expect("stats");
        assert_eq!(status, 200);
        let line = body.lines().find(|l| l.starts_with("calling: ")).expect("calling line");
        line["calling: ".len()..].parse().unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = kill(self.pid(), Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// One HTTP/1.1 GET on its own connection: the status and the body.
pub(crate) fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, DEADLINE)?;
    stream.set_read_timeout(Some(Duration::from_secs(70)))?;
    stream.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Ok((status, body))
}

/// Client threads sending requests until stopped, each bounded in count and time.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    /// `clients` threads, each calling its own `client()` with 0, 1, ... up to `count` times
    /// or for `limit`, whichever ends first.
    pub(crate) fn start<C>(
        clients: usize,
        count: usize,
        limit: Duration,
        client: impl Fn() -> C,
    ) -> Load
    where
        C: FnMut(usize) -> Result<(), String> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())));
        let threads = (0..clients)
            .map(|_| {
                let (stop, ok, failed) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
                let mut request = client();
                std::thread::spawn(move || {
                    let until = Instant::now() + limit;
                    for i in 0..count {
                        if stop.load(Ordering::Relaxed) || Instant::now() > until {
                            break;
                        }
                        match request(i) {
                            Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                            Err(err) => {
                                failed.lock().unwrap().push(err);
                                0
                            }
                        };
                    }
                })
            })
            .collect();
        Load { stop, ok, failed, threads }
    }

    /// Requests answered as expected so far.
    pub(crate) fn ok(&self) -> usize {
        self.ok.load(Ordering::Relaxed)
    }

    /// Stops the clients and asserts that no request failed; the number that succeeded.
    #[track_caller]
    pub(crate) fn finish(self) -> usize {
        let (ok, failed) = self.finish_counting();
        assert!(failed.is_empty(), "{} failed: {:?}", failed.len(), &failed[..failed.len().min(5)]);
        ok
    }

    /// Stops the clients: the number of requests that succeeded, and each failure.
    pub(crate) fn finish_counting(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
        let failed = std::mem::take(&mut *self.failed.lock().unwrap());
        (self.ok.load(Ordering::Relaxed), failed)
    }
}

/// Sockets a process has open (its listeners plus its connections).
fn sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| {
        dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count()
    })
}

#[test]
fn a_worker_killed_mid_request_is_respawned_and_calling_returns_to_the_truth() {
    let serve = Serve::start(2);
    let addr = serve.addr;
    let before = serve.workers();
    // Clients whose request ended (cut, or answered after its 20 s), and those cut.
    let (ended, cut) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (ended, cut) = (Arc::clone(&ended), Arc::clone(&cut));
            std::thread::spawn(move || {
                let result = get(addr, "/slow?ms=20000");
                if result.is_err() {
                    cut.fetch_add(1, Ordering::SeqCst);
                }
                ended.fetch_add(1, Ordering::SeqCst);
                result
            })
        })
        .collect();
    wait_for("4 requests calling", || (serve.calling() == 4).then_some(()));
    let victim = *before.iter().max_by_key(|&&pid| sockets(pid)).unwrap();
    kill(Pid::from_raw(victim as i32), Signal::SIGKILL).unwrap();
    // The killed worker's clients see their connection end at once.
    wait_for("the cut clients", || (cut.load(Ordering::SeqCst) >= 1).then_some(()));
    serve.wait_log(|l| l.ends_with(&format!("(pid {victim}) killed by SIGKILL")));
    wait_for("a new worker", || {
        let now = serve.workers();
        (now.len() == 2 && !now.contains(&victim)).then_some(())
    });
    // Calling is exactly the requests still in flight: the survivors' (until they end), none
    // of the killed worker's. Read between two equal counts of ended clients, so that no
    // client ended meanwhile.
    wait_for("calling == the requests still in flight", || {
        let ended_before = ended.load(Ordering::SeqCst);
        let calling = serve.calling();
        let in_flight = 4 - ended_before as u64;
        (calling == in_flight && ended.load(Ordering::SeqCst) == ended_before).then_some(())
    });
    for client in clients {
        let _ = client.join().unwrap();
    }
    assert_eq!(serve.calling(), 0);
}

#[test]
fn quit_lets_five_slow_requests_finish_with_200() {
    let mut serve = Serve::start(2);
    let addr = serve.addr;
    let clients: Vec<_> =
        (0..5).map(|_| std::thread::spawn(move || get(addr, "/slow?ms=1500"))).collect();
    // Every request reached a worker (counted as it starts, whether it is still sleeping or
    // already answered): QUIT now cuts none.
    wait_for("5 requests received", || (serve.requests() == 5).then_some(()));
    kill(serve.pid(), Signal::SIGQUIT).unwrap();
    for client in clients {
        assert_eq!(client.join().unwrap().unwrap(), (200, "slept 1500 ms\n".to_owned()));
    }
    let status = wait_for("the master to exit", || serve.child.try_wait().unwrap());
    assert_eq!(status.code(), Some(0), "{:#?}", serve.log());
}

#[test]
fn hup_under_load_replaces_every_worker_with_no_failed_request() {
    let serve = Serve::start(2);
    let addr = serve.addr;
    let before = serve.workers();
    let load = Load::start(4, 200_000, Duration::from_secs(30), || {
        move |_| match get(addr, "/") {
            Ok((200, body)) if body == "Hello, world!\n" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    wait_for("load", || (load.ok() > 200).then_some(()));
    kill(serve.pid(), Signal::SIGHUP).unwrap();
    let after = wait_for("every worker replaced", || {
        let now = serve.workers();
        (now.len() == 2 && now.iter().all(|p| !before.contains(p))).then_some(now)
    });
    // The new workers serve the load for a while (100 more answers) before it stops.
    let served = load.ok();
    wait_for("answers from the new workers", || (load.ok() >= served + 100).then_some(()));
    let ok = load.finish();
    // Two replacements, one at a time: each new worker served before its predecessor stopped.
    let log = serve.log();
    let quits: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, l)| l.ends_with("replaced: SIGQUIT"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(quits.len(), 2, "{log:#?}");
    // Before the k-th QUIT, the 2 first workers and k + 1 replacements had said "serving".
    for (k, &quit) in quits.iter().enumerate() {
        let serving = log[..quit].iter().filter(|l| l.ends_with(") serving")).count();
        assert!(serving > 2 + k, "QUIT {k} came before its replacement served: {log:#?}");
    }
    eprintln!("{ok} requests, 0 failed; {before:?} -> {after:?}");
}

#[test]
fn leak_keeps_memory_in_the_worker() {
    let serve = Serve::start(1);
    let pid = serve.workers()[0];
    let rss = || -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
    };
    let before = rss();
    let (status, body) = get(serve.addr, "/leak?mb=16").unwrap();
    assert_eq!((status, body), (200, format!("kept 16 MiB more, 16 MiB in worker {pid}\n")));
    assert!(rss() >= before + 16, "RSS {before} MiB -> {} MiB", rss());
    let (status, body) = get(serve.addr, "/leak?mb=lots").unwrap();
    assert_eq!((status, body.as_str()), (400, "mb=\"lots\" is not a whole number\n"));
}

#[test]
fn metrics_and_stats_are_served() {
    let serve = Serve::start(2);
    for _ in 0..3 {
        assert_eq!(get(serve.addr, "/").unwrap(), (200, "Hello, world!\n".to_owned()));
    }
    // The hellos' connections are closed by the client first: the server may take a moment
    // to drop them, so only the /metrics connection itself is active once it has.
    let active = format!("raindrops_listener_active{{addr=\"{}\"}} 1\n", serve.addr);
    let metrics = wait_for("only the /metrics connection active", || {
        let (status, metrics) = get(serve.addr, "/metrics").unwrap();
        assert_eq!(status, 200);
        metrics.contains(&active).then_some(metrics)
    });
    // Three hellos, counted by whichever worker served them, summed by whichever answers.
    assert!(metrics.contains("\nraindrops_requests_total 3\n"), "{metrics}");
}

/// `--segment FILE`: the counters live in a file that `raindrops dump` and `raindrops top`
/// read while the server runs, with each worker's pid and a live heartbeat.
#[test]
fn the_segment_file_is_read_by_dump_and_top() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("serve.drops");
    let serve = Serve::start_with(2, &["--segment", file.to_str().unwrap()]);
    for _ in 0..4 {
        assert_eq!(get(serve.addr, "/").unwrap().0, 200);
    }
    let dump = Command::new(BIN).args(["dump", "--format", "json"]).arg(&file).output().unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let dump: serde_json::Value = serde_json::from_slice(&dump.stdout).unwrap();
    assert_eq!(dump["total"]["requests"], 4, "{dump}");

    // Both serving workers' rows have a pid and a heartbeat under 2 s old.
    let table = wait_for("two worker rows with pids and fresh heartbeats in top", || {
        let top = Command::new(BIN)
            .args(["top", "--segment"])
            .arg(&file)
            .arg(serve.addr.to_string())
            .output()
            .unwrap();
        let text = String::from_utf8(top.stdout).unwrap();
        let fresh = text
            .lines()
            .filter(|l| {
                let cells: Vec<&str> = l.split_whitespace().collect();
                cells.len() == 7 && cells[1].parse::<u32>().is_ok() && cells[6].ends_with("ms")
            })
            .count();
        (top.status.success() && fresh == 2).then_some(text)
    });
    assert!(table.contains("sum"), "{table}");
}

#[test]
fn bad_listen_address_is_a_usage_error() {
    let out = Command::new(BIN).args(["serve", "--listen", "localhost:80"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("raindrops: --listen \"localhost:80\": "), "{stderr}");
}

#[test]
fn a_busy_port_is_reported_once_with_its_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for command in [["serve", "--listen"], ["watch", "--listen"]] {
        let out = Command::new(BIN).args(command).arg(&addr).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {stderr}");
        assert_eq!(
            stderr,
            format!("raindrops: cannot listen on {addr}: Address already in use (os error 98)\n"),
            "{command:?}"
        );
    }
}

/// A worker closes a client that never finishes its request head at `--header-timeout`
/// (the connection policy every server here shares), and answers 503 beyond
/// `--max-connections` when every connection is answering a request.
#[test]
fn slow_and_excess_clients_are_closed_by_the_connection_policy() {
    let serve = Serve::start_with(1, &["--header-timeout", "1s", "--max-connections", "1"]);
    let mut slow = TcpStream::connect(serve.addr).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").unwrap();
    slow.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut rest = Vec::new();
    assert!(matches!(slow.read_to_end(&mut rest), Ok(0)), "the slow client was answered: {rest:?}");
    // The only slot busy with a slow request: one more client is refused. (A client arriving
    // before the slow request's head is read would take its place: the request is retried.)
    let addr = serve.addr;
    let busy = std::thread::spawn(move || {
        let start = Instant::now();
        loop {
            // Busy for 20 s: long enough that the 503 below is seen while it is in flight,
            // however slowly a loaded machine runs this test.
            match get(addr, "/slow?ms=20000") {
                Ok((status, _)) => return status,
                Err(err) => assert!(start.elapsed() < DEADLINE, "{err}"),
            }
        }
    });
    let (status, body) = wait_for("a 503 while the only slot is busy", || {
        get(serve.addr, "/").ok().filter(|(status, _)| *status == 503)
    });
    assert!(body.contains("Too many connections"), "{status} {body}");
    assert_eq!(busy.join().unwrap(), 200);
    wait_for("200 once the slot is free", || {
        get(serve.addr, "/").ok().filter(|(status, _)| *status == 200)
    });
}

#[test]
fn serve_exports_how_long_accepted_connections_waited() {
    let serve = Serve::start(2);
    let waits = || {
        let (status, body) = get(serve.addr, "/_raindrops.json").expect("stats");
        assert_eq!(status, 200);
        let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        value["accept_wait_ms"]["count"].as_u64().unwrap_or_else(|| panic!("no waits: {body}"))
    };
    let before = waits();
    for _ in 0..20 {
        assert_eq!(get(serve.addr, "/").expect("GET /").0, 200);
    }
    // Every connection counts when accepted, before it is answered: the 20 and this one.
    assert_eq!(waits(), before + 21);
    let (status, metrics) = get(serve.addr, "/metrics").expect("metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("# TYPE raindrops_accept_wait_seconds histogram\n"), "{metrics}");
    let count = metrics
        .lines()
        .find_map(|l| l.strip_prefix("raindrops_accept_wait_seconds_count "))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no count: {metrics}"));
    assert_eq!(count, before + 22);
}
