//! Listener-stats speed, side by side in one run (issue 4), at 0, 1,000 and 10,000
//! established loopback connections to the measured listener:
//!
//! - `ours`: `SockDiag::tcp_stats(addr)` (LISTEN|ESTABLISHED, bytecode filter)
//! - `floor`: the same request written by hand, reply only scanned for `NLMSG_DONE`
//! - `ours queued-only` / `floor queued-only`: LISTEN sockets only
//! - `TCP_INFO local`: `local_queue(&listener)`
//! - `unix` (at 1,000 Unix connections): `SockDiag::unix_stats(path)`, and the
//!   `/proc/net/unix` fallback
//! - Ruby raindrops (`benches/ruby/listener_stats.rb`, when `ruby -rraindrops` works)
//! - queue wait (issue 16), a second table: `SockDiag::tcp_waits(addr)` (the same dump with
//!   each socket's `tcp_info`) against `tcp_stats(addr)` and `ss -tni` run as a whole command
//!   filtered to the port, with the reply bytes per socket of both dumps
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

/// Spawns the client child and accepts its `n` connections.
fn connect(l: &TcpListener, n: usize) -> (std::process::Child, Vec<TcpStream>) {
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
        (0..n).map(|_| accepting.accept().unwrap().0).collect::<Vec<TcpStream>>()
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

/// The queue-wait row at `target` connections: `tcp_waits` against `tcp_stats` (`stats_us`,
/// already measured) and `ss -tni`, and the reply bytes per socket with and without tcp_info.
fn wait_row(
    diag: &mut SockDiag,
    addr: SocketAddr,
    target: usize,
    budget: Duration,
    stats_us: f64,
) -> String {
    let (stats, wait) = diag.tcp_waits(&[addr]).unwrap().remove(0);
    assert_eq!((stats.active as usize, wait.count()), (target, 0), "{stats:?}");
    let wait_us = best(budget, || {
        black_box(diag.tcp_waits(&[addr]).unwrap());
    });
    let mut floor_wait = Floor::with_ext(addr, 1 << 1 | 1 << 8 | 1 << 10, 1 << 1);
    let floor_us = best(budget, || {
        black_box(floor_wait.run());
    });
    let filter = format!("sport = :{}", addr.port());
    let ss_us = best(budget, || {
        let out = Command::new("ss").args(["-tni", &filter]).output().unwrap();
        assert!(out.status.success());
        black_box(out.stdout);
    });
    let per_socket = |ext: u8| {
        let (socks, bytes) = Floor::with_ext(addr, 1 << 1 | 1 << 8 | 1 << 10, ext).run_bytes();
        bytes as f64 / socks.max(1) as f64
    };
    format!(
        "{target:>7} | {stats_us:>9.1} {wait_us:>9.1} {:>6.2} {floor_us:>9.1} {:>6.2} | {ss_us:>9.1} {:>8.1} | {:>14.0} {:>14.0}",
        wait_us / stats_us,
        floor_us / stats_us,
        ss_us / wait_us,
        per_socket(0),
        per_socket(1 << 1),
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
        "{:>7} | {:>9} {:>9} {:>6} | {:>9} {:>9} | {:>9} | {:>9} {:>9} | ratios",
        "conns", "ours", "floor", "o/f", "queued", "floor-q", "tcp_info", "ruby", "ruby+sock"
    );
    for target in [0usize, 1_000, 10_000] {
        let (mut child, accepted) = connect(&l, target);
        let s = diag.tcp_stats(addr).unwrap();
        assert_eq!(s.active as usize, target, "{s:?}");
        let ours = best(budget, || {
            black_box(diag.tcp_stats(addr).unwrap());
        });
        let fl = best(budget, || {
            black_box(floor.run());
        });
        let queued = best(budget, || {
            black_box(diag.tcp_queued(addr).unwrap());
        });
        let fq = best(budget, || {
            black_box(floor_listen.run());
        });
        let ti = best(budget, || {
            black_box(local_queue(&l).unwrap());
        });
        waits.push(wait_row(&mut diag, addr, target, budget, ours));
        let rb = ruby(addr, None);
        let get = |k: &str| rb.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        let (r, rs) = (get("tcp_listener_stats_us"), get("tcp_listener_stats_sock_us"));
        let fmt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
        println!(
            "{target:>7} | {ours:>9.1} {fl:>9.1} {:>6.2} | {queued:>9.1} {fq:>9.1} | {ti:>9.2} | {:>9} {:>9} | queued vs ruby {}x, ours vs ruby {}x",
            ours / fl,
            fmt(r),
            fmt(rs),
            r.map_or("-".into(), |r| format!("{:.0}", r / queued)),
            r.map_or("-".into(), |r| format!("{:.2}", r / ours)),
        );
        drop(child.stdin.take()); // the child closes its clients (RST) and exits
        child.wait().unwrap();
        for s in &accepted {
            let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
        }
        drop(accepted);
    }
    println!("(µs per call; o/f = ours / floor; tcp_info = local_queue on the listening fd)");
    println!(
        "\n{:>7} | {:>9} {:>9} {:>6} {:>9} {:>6} | {:>9} {:>8} | {:>14} {:>14}",
        "conns",
        "stats",
        "wait",
        "w/s",
        "floor-w",
        "fw/s",
        "ss -tni",
        "ss/wait",
        "B/sock stats",
        "B/sock wait"
    );
    for row in waits {
        println!("{row}");
    }
    println!(
        "(µs per call; wait = tcp_waits (stats + queued ages, INET_DIAG_INFO); floor-w = the same \
         request by hand, reply only scanned; ss -tni = the whole command, filtered to the port, \
         output read; B/sock = reply bytes per socket)"
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
