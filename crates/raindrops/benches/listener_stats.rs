//! Listener-stats speed, side by side in one run (issue 4), at 0, 1,000 and 10,000
//! established loopback connections to the measured listener, 1% of them left waiting in its
//! accept queue (0, 10 and 100: a busy server's queue, most connections accepted), and once
//! more at 10,000 with 1,000 waiting (a deep queue):
//!
//! - `ours`: `SockDiag::tcp_stats(addr)` (LISTEN|ESTABLISHED, bytecode filter)
//! - `floor`: the same request written by hand, reply only scanned for `NLMSG_DONE`
//! - `ours queued-only` / `floor queued-only`: LISTEN sockets only
//! - `TCP_INFO local`: `local_queue(&listener)`
//! - `unix` (at 1,000 Unix connections): `SockDiag::unix_stats(path)`, and the
//!   `/proc/net/unix` fallback
//! - Ruby raindrops (`benches/ruby/listener_stats.rb`, when `ruby -rraindrops` works)
//! - queue wait (issue 16), a second table: `SockDiag::tcp_waits(addr)` (the stats walk, then
//!   exact `tcp_info` lookups of the waiting connections only, batched) against
//!   `tcp_stats(addr)`, against the earlier design (one dump with every socket's `tcp_info`,
//!   the request written by hand, its reply only scanned) and against `ss -tni` run as a
//!   whole command filtered to the port; with the reply bytes per socket without and with
//!   `tcp_info` and the reply bytes per query of both designs
//!
//! Run: `bash crates/raindrops/benches/listener_stats.sh` (or `cargo bench -p raindrops
//! --bench listener_stats`). Not a test: it prints a table.

use std::hint::black_box;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use raindrops::{SockDiag, UnixSource, local_queue};
use socket2::{Domain, Socket, Type};

/// Mean time per call in µs: warm up, then run for ~`budget` (at least 20 calls).
fn time(budget: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..5 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u32;
    while n < 20 || (start.elapsed() < budget && n < 1_000_000) {
        f();
        n += 1;
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (10k connections need ~10k fds here; the
/// clients live in a child process, which raises its own).
fn raise_nofile() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid, writable rlimit that outlives the calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The minimal raw request: `SOCK_DIAG_BY_FAMILY` for AF_INET, one `S_COND` on addr:port.
struct Floor {
    fd: OwnedFd,
    req: Vec<u8>,
    buf: Vec<u8>,
}

impl Floor {
    fn new(addr: SocketAddr, states: u32) -> Floor {
        Floor::with_ext(addr, states, 0)
    }

    /// The request with `idiag_ext` set (`1 << 1`: `INET_DIAG_INFO`, each socket's tcp_info).
    fn with_ext(addr: SocketAddr, states: u32, ext: u8) -> Floor {
        // SAFETY: socket(2) takes no pointers.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                4, /* SOCK_DIAG */
            )
        };
        assert!(fd >= 0);
        // SAFETY: a fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let SocketAddr::V4(v4) = addr else { panic!("IPv4 only") };
        let mut req = Vec::new();
        let total: u32 = 16 + 56 + 4 + 16;
        req.extend_from_slice(&total.to_ne_bytes());
        req.extend_from_slice(&20u16.to_ne_bytes()); // SOCK_DIAG_BY_FAMILY
        req.extend_from_slice(&0x301u16.to_ne_bytes()); // NLM_F_REQUEST | NLM_F_DUMP
        req.extend_from_slice(&1u32.to_ne_bytes());
        req.extend_from_slice(&0u32.to_ne_bytes());
        req.extend_from_slice(&[libc::AF_INET as u8, libc::IPPROTO_TCP as u8, ext, 0]);
        req.extend_from_slice(&states.to_ne_bytes());
        req.extend_from_slice(&addr.port().to_be_bytes());
        req.extend_from_slice(&[0; 46]);
        req.extend_from_slice(&20u16.to_ne_bytes()); // nla_len
        req.extend_from_slice(&1u16.to_ne_bytes()); // INET_DIAG_REQ_BYTECODE
        req.extend_from_slice(&[7, 16, 20, 0]); // S_COND, yes = 16, no = 20 (reject)
        req.extend_from_slice(&[libc::AF_INET as u8, 32, 0, 0]);
        req.extend_from_slice(&i32::from(addr.port()).to_ne_bytes());
        req.extend_from_slice(&v4.ip().octets());
        assert_eq!(req.len(), total as usize);
        Floor { fd, req, buf: vec![0; 64 * 1024] }
    }

    fn run(&mut self) -> usize {
        self.run_bytes().0
    }

    /// Sockets in the reply, and the reply's bytes (headers included, `NLMSG_DONE` not).
    fn run_bytes(&mut self) -> (usize, usize) {
        let fd = self.fd.as_raw_fd();
        // SAFETY: valid fd; the pointer and length describe `self.req`.
        let n = unsafe { libc::send(fd, self.req.as_ptr().cast(), self.req.len(), 0) };
        assert_eq!(n as usize, self.req.len());
        let (mut msgs, mut bytes) = (0, 0);
        loop {
            // SAFETY: valid fd; the pointer and length describe `self.buf`.
            let n = unsafe { libc::recv(fd, self.buf.as_mut_ptr().cast(), self.buf.len(), 0) };
            assert!(n > 0);
            let mut at = 0;
            while at + 16 <= n as usize {
                let len = u32::from_ne_bytes(self.buf[at..at + 4].try_into().unwrap()) as usize;
                let kind = u16::from_ne_bytes(self.buf[at + 4..at + 6].try_into().unwrap());
                if kind == 3 || kind == 2 {
                    return (msgs, bytes);
                }
                msgs += 1;
                bytes += (len + 3) & !3;
                at += (len + 3) & !3;
            }
        }
    }
}

fn listener(addr: &str, backlog: i32) -> TcpListener {
    let addr: SocketAddr = addr.parse().unwrap();
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    sock.set_reuse_address(true).unwrap();
    sock.bind(&addr.into()).unwrap();
    sock.listen(backlog).unwrap();
    sock.into()
}

fn ruby(addr: SocketAddr, unix: Option<&Path>) -> Vec<(String, f64)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/ruby/listener_stats.rb");
    let Some(ruby) = raindrops_test_support::external::RUBY_RAINDROPS.find() else {
        return Vec::new();
    };
    let mut cmd = Command::new(ruby);
    cmd.arg(&script).arg(addr.to_string());
    if let Some(p) = unix {
        cmd.arg(p);
    }
    let Ok(out) = cmd.output() else { return Vec::new() };
    if !out.status.success() {
        eprintln!("ruby: {}", String::from_utf8_lossy(&out.stderr));
        return Vec::new();
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

/// Child mode: hold `n` client connections to `addr` until stdin closes. Clients live in
/// another process so each side stays under RLIMIT_NOFILE; SO_LINGER 0 makes their close an
/// RST, leaving no TIME_WAIT sockets to slow later measurements.
fn clients(addr: SocketAddr, n: usize) {
    let conns: Vec<Socket> = (0..n)
        .map(|_| {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            s.set_linger(Some(Duration::ZERO)).unwrap();
            s.connect(&addr.into()).unwrap();
            s
        })
        .collect();
    println!("ready");
    let _ = std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1]);
    drop(conns);
}

/// Spawns the client child and accepts all but `queued` of its `n` connections.
fn connect(l: &TcpListener, n: usize, queued: usize) -> (std::process::Child, Vec<TcpStream>) {
    use std::io::BufRead;
    let addr = l.local_addr().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--clients", &addr.to_string(), &n.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let accepting = l.try_clone().unwrap();
    let acceptor = std::thread::spawn(move || {
        (queued..n).map(|_| accepting.accept().unwrap().0).collect::<Vec<TcpStream>>()
    });
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    (child, acceptor.join().unwrap())
}

/// The fastest of 3 rounds (noise only ever adds time).
fn best(budget: Duration, mut f: impl FnMut()) -> f64 {
    (0..3).map(|_| time(budget / 3, &mut f)).fold(f64::INFINITY, f64::min)
}

/// Samples `addr` until `queued` connections wait and the rest are accepted (each final ACK
/// crosses loopback on its own time); panics after 30 s.
fn settle(diag: &mut SockDiag, addr: SocketAddr, target: usize, queued: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (stats, wait) = diag.tcp_waits(&[addr]).unwrap().remove(0);
        let got = (stats.active as usize, stats.queued as usize, wait.count());
        if got == (target - queued, queued, queued) {
            return;
        }
        assert!(Instant::now() < deadline, "{addr}: {got:?}, want {queued} of {target} waiting");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The median of `v` (not empty).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// TCP sockets in use on the host (`/proc/net/sockstat`): every dump walks them all, so
/// other programs' connections weigh on every figure.
fn host_tcp_sockets() -> String {
    let stat = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    let inuse = stat.lines().find_map(|l| l.strip_prefix("TCP: inuse "));
    inuse.and_then(|rest| rest.split(' ').next()).unwrap_or("?").to_owned()
}

/// The queue-wait row at `target` connections, `queued` of them waiting: `tcp_waits`
/// against `tcp_stats`, the one-dump design and `ss -tni`, and the reply bytes per socket
/// and per query. The first three are timed call by call in turns, and their ratios taken
/// per turn (the median of each counts), so load from elsewhere hits them alike.
fn wait_row(
    diag: &mut SockDiag,
    addr: SocketAddr,
    (target, queued): (usize, usize),
    budget: Duration,
) -> String {
    settle(diag, addr, target, queued);
    let states = 1 << 1 | 1 << 8 | 1 << 10;
    let mut one_dump = Floor::with_ext(addr, states, 1 << 1);
    let host = host_tcp_sockets();
    let mut turns: Vec<[f64; 3]> = Vec::new();
    let start = Instant::now();
    while turns.len() < 20 || (start.elapsed() < 3 * budget && turns.len() < 100_000) {
        let t0 = Instant::now();
        black_box(diag.tcp_stats(addr).unwrap());
        let t1 = Instant::now();
        black_box(diag.tcp_waits(&[addr]).unwrap());
        let t2 = Instant::now();
        black_box(one_dump.run());
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        turns.push([us(t1 - t0), us(t2 - t1), us(t2.elapsed())]);
    }
    let col = |i: usize| median(turns.iter().map(|t| t[i]).collect());
    let ratio = |i: usize| median(turns.iter().map(|t| t[i] / t[0]).collect());
    let (stats_us, wait_us, one_dump_us) = (col(0), col(1), col(2));
    let filter = format!("sport = :{}", addr.port());
    let ss_us = best(budget, || {
        let out = Command::new("ss").args(["-tni", &filter]).output().unwrap();
        assert!(out.status.success());
        black_box(out.stdout);
    });
    // Per socket, with and without tcp_info (an exact lookup's reply is the same message).
    let per_socket = |ext: u8| {
        let (socks, bytes) = Floor::with_ext(addr, states, ext).run_bytes();
        bytes as f64 / socks.max(1) as f64
    };
    let (walk, info) = (per_socket(0), per_socket(1 << 1));
    let sockets = (target + 1) as f64; // the listener too
    format!(
        "{target:>7} {queued:>6} {host:>7} | {stats_us:>9.1} {wait_us:>9.1} {:>6.2} | {one_dump_us:>9.1} {:>6.2} | {ss_us:>9.1} {:>8.1} | {walk:>6.0} {info:>6.0} | {:>9.1} {:>9.1}",
        ratio(1),
        ratio(2),
        ss_us / wait_us,
        (walk * sockets + info * queued as f64) / 1024.0,
        info * sockets / 1024.0,
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return; // `cargo test --benches` lists; nothing to list here
    }
    if let [_, flag, addr, n] = &args[..] {
        if flag == "--clients" {
            raise_nofile();
            return clients(addr.parse().unwrap(), n.parse().unwrap());
        }
    }
    raise_nofile();
    let budget = Duration::from_millis(
        std::env::var("BENCH_MS").ok().and_then(|s| s.parse().ok()).unwrap_or(700),
    );
    let l = listener("127.0.0.1:0", 4096);
    let addr = l.local_addr().unwrap();
    let mut diag = SockDiag::new().unwrap();
    let mut floor = Floor::new(addr, 1 << 1 | 1 << 10);
    let mut floor_listen = Floor::new(addr, 1 << 10);
    let mut waits = Vec::new();
    println!(
        "{:>7} {:>6} | {:>9} {:>9} {:>6} | {:>9} {:>9} | {:>9} | {:>9} {:>9} | ratios",
        "conns",
        "queued",
        "ours",
        "floor",
        "o/f",
        "queued",
        "floor-q",
        "tcp_info",
        "ruby",
        "ruby+sock"
    );
    for (target, queued) in [(0usize, 0usize), (1_000, 10), (10_000, 100), (10_000, 1_000)] {
        let (mut child, accepted) = connect(&l, target, queued);
        settle(&mut diag, addr, target, queued);
        let ours = best(budget, || {
            black_box(diag.tcp_stats(addr).unwrap());
        });
        let fl = best(budget, || {
            black_box(floor.run());
        });
        let q_us = best(budget, || {
            black_box(diag.tcp_queued(addr).unwrap());
        });
        let fq = best(budget, || {
            black_box(floor_listen.run());
        });
        let ti = best(budget, || {
            black_box(local_queue(&l).unwrap());
        });
        waits.push(wait_row(&mut diag, addr, (target, queued), budget));
        let rb = ruby(addr, None);
        let get = |k: &str| rb.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        let (r, rs) = (get("tcp_listener_stats_us"), get("tcp_listener_stats_sock_us"));
        let fmt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
        println!(
            "{target:>7} {queued:>6} | {ours:>9.1} {fl:>9.1} {:>6.2} | {q_us:>9.1} {fq:>9.1} | {ti:>9.2} | {:>9} {:>9} | queued vs ruby {}x, ours vs ruby {}x",
            ours / fl,
            fmt(r),
            fmt(rs),
            r.map_or("-".into(), |r| format!("{:.0}", r / q_us)),
            r.map_or("-".into(), |r| format!("{:.2}", r / ours)),
        );
        drop(child.stdin.take()); // the child closes its clients (RST) and exits
        child.wait().unwrap();
        // Take what the clients left queued (reset now) off the queue: the next round starts
        // with an empty one.
        l.set_nonblocking(true).unwrap();
        for _ in 0..2 * queued + 10 {
            match l.accept() {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                _ => {}
            }
        }
        l.set_nonblocking(false).unwrap();
        for s in &accepted {
            let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
        }
        drop(accepted);
    }
    println!("(µs per call; o/f = ours / floor; tcp_info = local_queue on the listening fd)");
    println!(
        "\n{:>7} {:>6} {:>7} | {:>9} {:>9} {:>6} | {:>9} {:>6} | {:>9} {:>8} | {:>6} {:>6} | {:>9} {:>9}",
        "conns",
        "queued",
        "host",
        "stats",
        "wait",
        "w/s",
        "one-dump",
        "1d/s",
        "ss -tni",
        "ss/wait",
        "B walk",
        "B info",
        "KiB wait",
        "KiB 1dump"
    );
    for row in waits {
        println!("{row}");
    }
    println!(
        "(µs per call, median of turns; w/s, 1d/s = median of the per-turn ratios to stats; host \
         = TCP sockets in use on the host, all walked by every dump; wait = tcp_waits: the \
         stats walk, then exact tcp_info lookups of the queued only; one-dump = the earlier design, one dump with every socket's tcp_info, by \
         hand, reply only scanned; ss -tni = the whole command, filtered to the port, output \
         read; B walk / B info = reply bytes per socket without / with tcp_info; KiB = reply \
         bytes per query, wait vs one-dump)"
    );

    // Unix: 1,000 accepted connections on one listener.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.sock");
    let ul = UnixListener::bind(&path).unwrap();
    let mut uconns = Vec::new();
    for _ in 0..1000 {
        uconns.push(UnixStream::connect(&path).unwrap());
        uconns.push(ul.accept().unwrap().0);
    }
    let s = diag.unix_stats(&path).unwrap();
    assert_eq!(s.active, 1000, "{s:?}");
    let nl = best(budget, || {
        black_box(diag.unix_stats(&path).unwrap());
    });
    diag.set_unix_source(UnixSource::ProcNetUnix);
    assert_eq!(diag.unix_stats(&path).unwrap(), s);
    let procfs = best(budget, || {
        black_box(diag.unix_stats(&path).unwrap());
    });
    let rb = ruby(addr, Some(&path));
    let r = rb.iter().find(|(n, _)| n == "unix_listener_stats_us").map(|(_, v)| *v);
    println!(
        "unix @1000 conns: ours (unix_diag) {nl:.1} µs, ours (/proc/net/unix) {procfs:.1} µs, ruby {} µs{}",
        r.map_or("-".into(), |r| format!("{r:.1}")),
        r.map_or(String::new(), |r| format!(" -> ours/ruby = {:.3}", nl / r)),
    );
}
