//! Listener stats against real loopback sockets, with exact numbers.
#![cfg(target_os = "linux")]

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use raindrops::{ListenStats, ListenerAddr, SockDiag, TcpInfo, UnixSource, local_queue};

mod util;
use util::{listen, poll};

fn stats(diag: &mut SockDiag, addr: SocketAddr) -> ListenStats {
    let one = diag.tcp_stats(addr).unwrap();
    // Every form agrees: many (with a duplicate and a stranger), all, queued-only.
    let stranger: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let many = diag.tcp_stats_many(&[addr, stranger, addr]).unwrap();
    assert_eq!(many, vec![one, ListenStats::default(), one], "many vs one for {addr}");
    let all = diag.tcp_all().unwrap();
    let from_all = all.iter().find(|(a, _)| *a == addr).map(|(_, s)| *s);
    assert_eq!(from_all, Some(one), "all vs one for {addr}");
    assert_eq!(diag.tcp_queued(addr).unwrap(), one.queued, "queued-only vs one for {addr}");
    let queued_all = diag.tcp_queued_all().unwrap();
    assert!(queued_all.contains(&(addr, one.queued)));
    let mixed = diag.stats(&[ListenerAddr::from(addr)]).unwrap();
    assert_eq!(mixed, vec![one]);
    one
}

fn eventually(diag: &mut SockDiag, addr: SocketAddr, want: ListenStats) {
    poll(&addr.to_string(), want, || stats(diag, addr));
}

/// listen, connect 5, accept 2 → 2/3; a peer closes → 1/3; accept 3 → 4/0.
fn scenario(bind: &str, targets: &[&str]) {
    let listener = listen(bind, false);
    let addr = listener.local_addr().unwrap();
    let mut diag = SockDiag::new().unwrap();
    assert_eq!(stats(&mut diag, addr), ListenStats { active: 0, queued: 0 });
    let mut clients: Vec<TcpStream> = (0..5)
        .map(|i| {
            let host = targets[i % targets.len()];
            let target = SocketAddr::new(host.parse().unwrap(), addr.port());
            TcpStream::connect(target).unwrap()
        })
        .collect();
    poll("queued", (5, 128), || {
        let q = local_queue(&listener).unwrap();
        (q.queued, q.backlog)
    });
    let mut accepted: Vec<TcpStream> = (0..2).map(|_| listener.accept().unwrap().0).collect();
    eventually(&mut diag, addr, ListenStats { active: 2, queued: 3 });
    assert_eq!(local_queue(&listener).unwrap().queued, 3);

    // The peer of the first accepted connection goes away: that server socket is CLOSE_WAIT.
    let peer = accepted[0].peer_addr().unwrap();
    let idx = clients.iter().position(|c| c.local_addr().unwrap().port() == peer.port()).unwrap();
    drop(clients.remove(idx));
    eventually(&mut diag, addr, ListenStats { active: 1, queued: 3 });

    accepted.extend((0..3).map(|_| listener.accept().unwrap().0));
    eventually(&mut diag, addr, ListenStats { active: 4, queued: 0 });
    assert_eq!(local_queue(&listener).unwrap().queued, 0);
}

#[test]
fn ipv4_loopback() {
    scenario("127.0.0.1:0", &["127.0.0.1"]);
}

#[test]
fn ipv4_wildcard() {
    scenario("0.0.0.0:0", &["127.0.0.1"]);
}

#[test]
fn ipv6_loopback() {
    scenario("[::1]:0", &["::1"]);
}

#[test]
fn ipv6_wildcard_dual_stack_with_v4_and_v6_clients() {
    scenario("[::]:0", &["127.0.0.1", "::1"]);
}

#[test]
fn specific_address_does_not_see_wildcard_listener() {
    let listener = listen("0.0.0.0:0", false);
    let port = listener.local_addr().unwrap().port();
    let _c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut diag = SockDiag::new().unwrap();
    let lo: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let wild: SocketAddr = format!("0.0.0.0:{port}").parse().unwrap();
    // No listener is bound to 127.0.0.1: nothing queued there (the CLI warns).
    poll(
        "127.0.0.1 and the wildcard",
        vec![ListenStats { active: 0, queued: 0 }, ListenStats { active: 0, queued: 1 }],
        || diag.tcp_stats_many(&[lo, wild]).unwrap(),
    );
}

#[test]
fn reuseport_listeners_are_summed() {
    let first = listen("127.0.0.1:0", true);
    let addr = first.local_addr().unwrap();
    let mut listeners = vec![first];
    listeners.extend((1..10).map(|_| listen(&addr.to_string(), true)));
    let _clients: Vec<TcpStream> = (0..30).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut diag = SockDiag::new().unwrap();
    eventually(&mut diag, addr, ListenStats { active: 0, queued: 30 });
    let per_socket: u32 = listeners.iter().map(|l| local_queue(l).unwrap().queued).sum();
    assert_eq!(per_socket, 30);
}

fn unix_scenario(source: UnixSource) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let link = dir.path().join("link.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let mut diag = SockDiag::new().unwrap();
    diag.set_unix_source(source);
    let check = |diag: &mut SockDiag, want: ListenStats| {
        let got = diag.unix_stats_many(&[&path, &link]).unwrap();
        assert_eq!(got, vec![want, want], "{source:?}");
        assert_eq!(diag.unix_stats(&path).unwrap(), want);
        let all = diag.unix_all().unwrap();
        assert_eq!(all.iter().find(|(p, _)| p == &path).map(|(_, s)| *s), Some(want));
        let addrs = [ListenerAddr::Unix(link.clone()), ListenerAddr::Unix(path.clone())];
        assert_eq!(diag.stats(&addrs).unwrap(), vec![want, want]);
    };
    check(&mut diag, ListenStats { active: 0, queued: 0 });
    let mut clients: Vec<UnixStream> =
        (0..5).map(|_| UnixStream::connect(&path).unwrap()).collect();
    let mut accepted: Vec<UnixStream> = (0..2).map(|_| listener.accept().unwrap().0).collect();
    check(&mut diag, ListenStats { active: 2, queued: 3 });
    // The client of an accepted connection closes: the kernel keeps the server side connected
    // until the server closes it.
    clients.remove(0).shutdown(Shutdown::Both).unwrap();
    check(&mut diag, ListenStats { active: 2, queued: 3 });
    drop(accepted.remove(0));
    check(&mut diag, ListenStats { active: 1, queued: 3 });
    accepted.extend((0..3).map(|_| listener.accept().unwrap().0));
    check(&mut diag, ListenStats { active: 4, queued: 0 });
    assert_eq!(diag.unix_source(), source);
}

#[test]
fn unix_over_netlink() {
    unix_scenario(UnixSource::Netlink);
}

#[test]
fn unix_over_proc_net_unix() {
    unix_scenario(UnixSource::ProcNetUnix);
}

#[test]
fn tcp_info_of_a_connection() {
    let listener = listen("127.0.0.1:0", false);
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let info = TcpInfo::from_socket(&client).unwrap();
    assert_eq!(info.state, 1); // ESTABLISHED
    assert!(info.len >= 104, "{}", info.len);
    assert!(info.snd_mss > 0);
    assert!(info.pacing_rate.is_some()); // every kernel since 3.15
    let l = TcpInfo::from_socket(&listener).unwrap();
    assert_eq!((l.state, l.unacked, l.sacked), (10, 1, 128));
    // Not a listener: a typed error, not garbage.
    assert!(matches!(local_queue(&client), Err(raindrops::ListenError::NotListening { state: 1 })));
    let (udp, _) = UnixStream::pair().unwrap();
    assert!(TcpInfo::from_socket(&udp).is_err());
}

#[test]
fn netlink_socket_is_cloexec() {
    use std::os::fd::AsFd;
    let diag = SockDiag::new().unwrap();
    let flags = nix::fcntl::fcntl(diag.as_fd(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
    assert!(flags & libc::FD_CLOEXEC != 0);
}

#[test]
fn many_listeners_and_a_stress_run() {
    let listeners: Vec<TcpListener> = (0..1000).map(|_| listen("127.0.0.1:0", false)).collect();
    let mut diag = SockDiag::new().unwrap();
    let all = diag.tcp_all().unwrap();
    for l in &listeners {
        let addr = l.local_addr().unwrap();
        assert!(all.iter().any(|(a, s)| *a == addr && s.queued == 0), "{addr}");
    }
    let server = listen("127.0.0.1:0", false);
    let addr = server.local_addr().unwrap();
    // The churn and the queries run until each side has seen the other make progress (at
    // least 10 rounds and 100 queries), bounded in rounds and in time.
    let (rounds, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let stop = Instant::now() + Duration::from_secs(30);
    let worker = {
        let (rounds, done) = (Arc::clone(&rounds), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst)
                && Instant::now() < stop
                && rounds.load(Ordering::SeqCst) < 10_000
            {
                let clients: Vec<TcpStream> = (0..10)
                    .map(|_| {
                        let c = TcpStream::connect(addr).unwrap();
                        // Close with RST: no TIME_WAIT sockets left to slow the host's later dumps.
                        socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO)).unwrap();
                        c
                    })
                    .collect();
                let accepted: Vec<TcpStream> =
                    (0..10).map(|_| server.accept().unwrap().0).collect();
                drop(clients);
                drop(accepted);
                rounds.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let mut queries = 0;
    while !worker.is_finished() {
        let s = diag.tcp_stats(addr).unwrap();
        assert!(s.queued <= 128 && s.active <= 10, "{s:?}");
        let many = diag.tcp_stats_many(&[addr, "0.0.0.0:9".parse().unwrap()]).unwrap();
        assert_eq!(many.len(), 2);
        diag.tcp_queued(addr).unwrap();
        if queries % 20 == 0 {
            diag.tcp_all().unwrap();
        }
        queries += 1;
        if queries >= 100 && rounds.load(Ordering::SeqCst) >= 10 {
            done.store(true, Ordering::SeqCst);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    worker.join().unwrap();
    let rounds = rounds.load(Ordering::SeqCst);
    assert!(rounds > 0, "{rounds}");
    assert!(queries > 10, "{queries}");
}

#[test]
fn missing_paths_and_addresses_are_zero() {
    let mut diag = SockDiag::new().unwrap();
    let nowhere = Path::new("/nonexistent/raindrops.sock");
    assert_eq!(diag.unix_stats(nowhere).unwrap(), ListenStats::default());
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    assert_eq!(diag.tcp_stats_many(&[addr, addr]).unwrap(), vec![ListenStats::default(); 2]);
}
