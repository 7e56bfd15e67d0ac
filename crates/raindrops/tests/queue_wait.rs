//! Queue wait against real loopback sockets: connections queued at known times (about 1.5 s,
//! 0.5 s and 0 s before the sample, some with request bytes, some without, one whose request
//! came 1 s after its handshake) must come back with those ages, the time since each
//! handshake, within ±50 ms plus however long the sample itself took by this test's own
//! clock, so a loaded machine widens the window instead of failing it.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use raindrops::{ListenStats, ListenerAddr, QueueWait, SockDiag};

mod util;
use util::{listen, poll};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const SLACK: Duration = Duration::from_millis(50);

/// A client connection and the window, by this test's clock, in which its age started: from
/// just before `connect` (or the send of its request) to just after.
struct Client {
    _stream: TcpStream,
    start: (Instant, Instant),
}

fn connect(target: SocketAddr, request: bool) -> Client {
    let before = Instant::now();
    let mut stream = TcpStream::connect(target).unwrap();
    if request {
        stream.write_all(REQUEST).unwrap();
    }
    Client { _stream: stream, start: (before, Instant::now()) }
}

impl Client {
    /// Sends the request now: the age does not restart (it is the time since the handshake,
    /// `tcpi_last_data_sent`, which only the server's data would move).
    fn send_request(&mut self) {
        self._stream.write_all(REQUEST).unwrap();
    }
}

/// Queues 7 connections to `targets` (round robin, all on `port`): 3 about 1.5 s before the
/// sample (one with its request, one whose request comes 1 s later), 2 about 0.5 s before
/// (one with its request), 2 just before. The sleeps are the fixture's ages, not waits for
/// events.
fn queue_clients(targets: &[&str], port: u16) -> Vec<Client> {
    let mut next = targets.iter().cycle().map(|h| SocketAddr::new(h.parse().unwrap(), port));
    let mut clients =
        vec![connect(next.next().unwrap(), false), connect(next.next().unwrap(), true)];
    let mut late = connect(next.next().unwrap(), false);
    std::thread::sleep(Duration::from_millis(1000));
    late.send_request();
    clients.push(late);
    clients.push(connect(next.next().unwrap(), false));
    clients.push(connect(next.next().unwrap(), true));
    std::thread::sleep(Duration::from_millis(500));
    clients.push(connect(next.next().unwrap(), false));
    clients.push(connect(next.next().unwrap(), true));
    clients
}

/// One sample of `addr`, with this test's clock read just before and just after it.
fn sample(diag: &mut SockDiag, addr: SocketAddr) -> (ListenStats, QueueWait, Instant, Instant) {
    let before = Instant::now();
    let (stats, wait) = diag.tcp_waits(&[addr]).unwrap().remove(0);
    (stats, wait, before, Instant::now())
}

/// Samples until `n` connections wait (their final ACKs cross loopback on their own time),
/// then checks each age against its client's window.
fn check_ages(diag: &mut SockDiag, addr: SocketAddr, clients: &[Client]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let (stats, wait, before, after) = loop {
        let got = sample(diag, addr);
        if got.1.count() == clients.len() || Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(wait.count(), clients.len(), "{addr}: {wait:?}");
    assert_eq!(stats, ListenStats { active: 0, queued: clients.len() as u32 }, "{addr}");
    // Each age lies in [sample start - client's start window end, sample end - its start].
    let mut windows: Vec<(Duration, Duration)> = clients
        .iter()
        .map(|c| (before - c.start.1, after - c.start.0))
        .map(|(low, high)| (low.saturating_sub(SLACK), high + SLACK))
        .collect();
    windows.sort();
    for (age, (low, high)) in wait.ages_ms().iter().zip(&windows) {
        let age = Duration::from_millis((*age).into());
        assert!(low <= &age && &age <= high, "{addr}: age {age:?} not in {low:?}..={high:?}");
    }
    assert_eq!(wait.oldest_ms(), wait.ages_ms().last().copied());
    let oldest = wait.oldest().unwrap();
    assert!(oldest >= Duration::from_millis(1400), "{addr}: oldest {oldest:?}");
    // The client that sent its request 1 s after its handshake still reports its whole wait:
    // three connections, not two, have waited since about 1.5 s.
    let old = wait.ages_ms().iter().filter(|&&ms| ms >= 1400).count();
    assert_eq!(old, 3, "{addr}: {wait:?}");
    let p50 = wait.percentile_ms(50.0).unwrap();
    assert!((400..=700 + u32::try_from((after - before).as_millis()).unwrap()).contains(&p50));
    assert_eq!(wait.to_aggregate().count(), clients.len() as u64);
}

/// Accepts every queued connection (nonblocking, from any member of the group), `step` at a
/// time, checking that each accepted one leaves the waiting set.
fn accept_all(diag: &mut SockDiag, addr: SocketAddr, listeners: &[TcpListener], total: usize) {
    for l in listeners {
        l.set_nonblocking(true).unwrap();
    }
    let mut accepted = Vec::new();
    while accepted.len() < total {
        let before = accepted.len();
        let deadline = Instant::now() + Duration::from_secs(30);
        while accepted.len() == before && Instant::now() < deadline {
            accepted.extend(listeners.iter().find_map(|l| l.accept().ok()));
        }
        assert_eq!(accepted.len(), before + 1, "{addr}: nothing to accept");
        let left = total - accepted.len();
        poll(&format!("{addr} after {} accepts", accepted.len()), (left, left as u32), || {
            let (stats, wait, ..) = sample(diag, addr);
            assert_eq!(stats.active as usize + stats.queued as usize, total, "{addr}");
            (wait.count(), stats.queued)
        });
    }
    let (stats, wait, ..) = sample(diag, addr);
    assert_eq!((stats.active as usize, wait.oldest_ms()), (total, None));
}

fn scenario(bind: &str, targets: &[&str], reuse_port: usize) {
    let first = listen(bind, reuse_port > 0);
    let addr = first.local_addr().unwrap();
    let mut listeners = vec![first];
    listeners.extend((1..reuse_port).map(|_| listen(&addr.to_string(), true)));
    let mut diag = SockDiag::new().unwrap();
    let clients = queue_clients(targets, addr.port());
    check_ages(&mut diag, addr, &clients);

    // The other query forms see the same connections.
    let all = diag.tcp_all_waits().unwrap();
    let (_, _, from_all) = all.iter().find(|(a, ..)| *a == addr).unwrap();
    assert_eq!(from_all.count(), clients.len(), "{addr}: all vs one");
    let mixed = diag.waits(&[ListenerAddr::from(addr)]).unwrap();
    assert_eq!(mixed[0].1.as_ref().map(QueueWait::count), Some(clients.len()));

    if reuse_port == 0 {
        // FIFO: the three oldest go first, and with them every age over a second: what is
        // left is no older than the clients queued 0.5 s before the sample (by this test's
        // clock, however long this took on a loaded machine).
        let old: Vec<TcpStream> = (0..3).map(|_| listeners[0].accept().unwrap().0).collect();
        poll(&format!("{addr} oldest after 3 accepts"), (clients.len() - 3, true), || {
            let (_, wait, _, after) = sample(&mut diag, addr);
            let bound = after - clients[3].start.0 + SLACK;
            (wait.count(), wait.oldest().is_some_and(|age| age <= bound))
        });
        drop(old);
    }
    accept_all(&mut diag, addr, &listeners, clients.len() - if reuse_port == 0 { 3 } else { 0 });
}

#[test]
fn ipv4_loopback() {
    scenario("127.0.0.1:0", &["127.0.0.1"], 0);
}

#[test]
fn ipv6_loopback() {
    scenario("[::1]:0", &["::1"], 0);
}

#[test]
fn ipv4_wildcard_counts_every_local_address() {
    scenario("0.0.0.0:0", &["127.0.0.1", "127.0.0.2"], 0);
}

#[test]
fn ipv6_wildcard_dual_stack_with_v4_and_v6_clients() {
    scenario("[::]:0", &["::1", "127.0.0.1"], 0);
}

#[test]
fn reuseport_group_is_summed() {
    scenario("127.0.0.1:0", &["127.0.0.1"], 4);
}

/// A listener nobody connects to, one whose connections were all accepted, and a Unix
/// listener: no ages at all (not zeros), and `None` for Unix, which has no clock.
#[test]
fn idle_accepted_and_unix_listeners_report_no_ages() {
    let idle = listen("127.0.0.1:0", false);
    let busy = listen("[::1]:0", false);
    let busy_addr = busy.local_addr().unwrap();
    let clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(busy_addr).unwrap()).collect();
    let accepted: Vec<TcpStream> = (0..3).map(|_| busy.accept().unwrap().0).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wait.sock");
    let _unix = UnixListener::bind(&path).unwrap();
    let mut diag = SockDiag::new().unwrap();
    let addrs = [
        ListenerAddr::from(idle.local_addr().unwrap()),
        ListenerAddr::from(busy_addr),
        ListenerAddr::Unix(path),
    ];
    poll("active", 3, || diag.tcp_stats(busy_addr).unwrap().active);
    let got = diag.waits(&addrs).unwrap();
    assert_eq!(got[0], (ListenStats::default(), Some(QueueWait::default())));
    assert_eq!(got[1], (ListenStats { active: 3, queued: 0 }, Some(QueueWait::default())));
    assert_eq!(got[2], (ListenStats::default(), None));
    let wait = got[1].1.as_ref().unwrap();
    assert_eq!((wait.oldest(), wait.percentile_ms(99.0)), (None, None));
    assert_eq!(wait.to_aggregate().count(), 0);
    drop((clients, accepted));
}
