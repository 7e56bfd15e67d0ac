//! Tests of the queue-wait query's parts together: `tcp_info` ages in replies, the answers to
//! exact lookups (`netlink::answers`), and the lookups against real loopback sockets: one
//! accepted or gone since the dump, a new socket on a reused 4-tuple, more queued sockets
//! than a batch or a receive buffer holds. Test-only; apart from the modules it tests so
//! that none of them imports another's tests.

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use socket2::{Domain, Socket, Type};

use super::diag_replies::{error, message, msg, tcp_info_with_age};
use super::inet_diag::{
    self, InetSock, Query, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_LISTEN, Wanted, parse_msg,
};
use super::netlink::{Answer, NLMSG_NOOP, SOCK_DIAG_BY_FAMILY, answers};
use super::queue_wait::{INET_DIAG_INFO, SockId};
use super::{ListenStats, QueueWait, SockDiag};

#[test]
fn queued_socket_age_comes_from_last_data_sent() {
    let lo: SocketAddr = "[::1]:8080".parse().unwrap();
    let info = (INET_DIAG_INFO, tcp_info_with_age(1520, 280));
    let mut payload = msg(lo, TCP_ESTABLISHED, 0, std::slice::from_ref(&info));
    payload[40..44].copy_from_slice(&[9, 9, 9, 9]); // the interface, then the cookie
    payload[44..52].copy_from_slice(&0x1234_5678_9abc_u64.to_ne_bytes());
    let queued = parse_msg(&payload).unwrap().unwrap();
    assert_eq!((queued.local, queued.age_ms), (lo, Some(1520)));
    let id = queued.id.expect("a queued socket keeps its id");
    assert_eq!((id.family, &id.id[..]), (inet_diag::AF_INET6, &payload[4..52]));
    // Accepted (inode set) or listening: no age and no id, whatever the attribute says.
    let accepted =
        parse_msg(&msg(lo, TCP_ESTABLISHED, 9, std::slice::from_ref(&info))).unwrap().unwrap();
    assert_eq!((accepted.age_ms, accepted.id), (None, None));
    let listening = parse_msg(&msg(lo, TCP_LISTEN, 0, &[info])).unwrap().unwrap();
    assert_eq!((listening.age_ms, listening.id), (None, None));
    // A struct too short to hold the field, or no attribute: no age (never garbage).
    let short = (INET_DIAG_INFO, vec![0; 47]);
    let no_age = |attrs: &[_]| parse_msg(&msg(lo, TCP_ESTABLISHED, 0, attrs)).unwrap();
    assert_eq!(no_age(&[short]).unwrap().age_ms, None);
    assert_eq!(no_age(&[]).unwrap().age_ms, None);
}

/// A loopback listener with room for `backlog` connections.
fn listener(backlog: i32) -> TcpListener {
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into()).unwrap();
    sock.listen(backlog).unwrap();
    sock.into()
}

/// A client whose close is a reset (no `TIME_WAIT`), from `from` if given.
fn client(to: SocketAddr, from: Option<SocketAddr>) -> Socket {
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    sock.set_linger(Some(Duration::ZERO)).unwrap();
    if let Some(from) = from {
        sock.set_reuse_address(true).unwrap();
        sock.bind(&from.into()).unwrap();
    }
    sock.connect(&to.into()).unwrap();
    sock
}

/// The ids of the connections the stats walk sees queued on `addr`, once there are `n`
/// (each final ACK crosses loopback on its own time).
fn queued_ids(diag: &mut SockDiag, addr: SocketAddr, n: usize) -> Vec<SockId> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut ids = Vec::new();
        let query = Query { family: inet_diag::AF_INET, states: inet_diag::STATES_WAIT };
        diag.tcp_dump(query, Some(&[addr]), &mut |s| ids.extend(s.id)).unwrap();
        if ids.len() == n || Instant::now() > deadline {
            assert_eq!(ids.len(), n, "{addr}");
            return ids;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What the exact lookups of `ids` report: the queued sockets' local addresses and ages.
fn lookup(diag: &mut SockDiag, ids: &[SockId]) -> Vec<(SocketAddr, u32)> {
    let mut got = Vec::new();
    diag.lookup_queued(ids, &mut |s: &InetSock| got.push((s.local, s.age_ms.unwrap()))).unwrap();
    got
}

/// A connection accepted between the dump and its lookup answers with its inode now, and
/// one accepted and closed since answers `ENOENT`: neither is reported as waiting.
#[test]
fn a_connection_accepted_after_the_dump_is_not_reported() {
    let l = listener(8);
    let addr = l.local_addr().unwrap();
    let mut diag = SockDiag::new().unwrap();
    let _clients = [client(addr, None), client(addr, None)];
    let ids = queued_ids(&mut diag, addr, 2);
    assert_eq!(lookup(&mut diag, &ids).len(), 2);
    let (kept, _) = l.accept().unwrap();
    let got = lookup(&mut diag, &ids);
    assert_eq!(got.len(), 1, "the accepted one is gone: {got:?}");
    let (closed, _) = l.accept().unwrap();
    socket2::SockRef::from(&closed).set_linger(Some(Duration::ZERO)).unwrap();
    drop(closed); // a reset: the socket is gone at once
    assert_eq!(lookup(&mut diag, &ids), []);
    drop(kept);
}

/// A new connection on the same 4-tuple is another socket with another cookie: the old
/// id never matches it, its own does.
#[test]
fn a_new_socket_on_a_reused_four_tuple_is_not_the_old_one() {
    let l = listener(8);
    let addr = l.local_addr().unwrap();
    let mut diag = SockDiag::new().unwrap();
    let first = client(addr, Some("127.0.0.1:0".parse().unwrap()));
    let from = first.local_addr().unwrap().as_socket().unwrap();
    let old = queued_ids(&mut diag, addr, 1);
    let (accepted, _) = l.accept().unwrap();
    socket2::SockRef::from(&accepted).set_linger(Some(Duration::ZERO)).unwrap();
    drop((accepted, first)); // resets both ways: no TIME_WAIT keeps the 4-tuple
    let _second = client(addr, Some(from));
    let new = queued_ids(&mut diag, addr, 1);
    assert_eq!(old[0].id[..40], new[0].id[..40], "the same ports and addresses");
    assert_ne!(old[0].id[40..], new[0].id[40..], "another cookie");
    assert_eq!(lookup(&mut diag, &old), []);
    assert_eq!(lookup(&mut diag, &new).len(), 1);
}

/// More queued connections than one batch, and than one receive buffer holds replies for:
/// every one is answered, in bounded batches, even when a batch's replies overflow.
#[test]
fn many_queued_connections_are_all_looked_up() {
    const N: usize = 600;
    let l = listener(1024);
    let addr = l.local_addr().unwrap();
    let mut diag = SockDiag::new().unwrap();
    let _clients: Vec<Socket> = (0..N).map(|_| client(addr, None)).collect();
    let ids = queued_ids(&mut diag, addr, N);
    assert_eq!(lookup(&mut diag, &ids).len(), N);
    // One datagram of 4 × 600 lookups: the kernel drops what the receive buffer cannot
    // hold, and the dropped ones are asked for again in smaller batches.
    diag.set_lookup_batch(4 * N);
    let repeated: Vec<SockId> = ids.iter().cycle().take(4 * N).copied().collect();
    assert_eq!(lookup(&mut diag, &repeated).len(), 4 * N);
    let addrs = [addr];
    let mut wanted = Wanted::new(&addrs);
    diag.lookup_queued(&ids, &mut |s| wanted.add(s)).unwrap();
    let (stats, waits) = wanted.finish();
    assert_eq!((stats[0], waits[0].count()), (ListenStats::default(), N));
}

/// One reply to an exact request, as the kernel may send it.
#[derive(Clone, Copy, Debug)]
enum Reply {
    Found(u8),
    Error(i32),
    Ack,
    Noop,
}

fn reply() -> impl Strategy<Value = (u32, Reply)> {
    let kind = prop_oneof![
        any::<u8>().prop_map(Reply::Found),
        prop_oneof![Just(libc::ENOENT), 1..200i32].prop_map(Reply::Error),
        Just(Reply::Ack),
        Just(Reply::Noop),
    ];
    (any::<u32>(), kind)
}

proptest! {
    /// Among any other attributes, in any order, the `INET_DIAG_INFO` one gives the age of
    /// a queued socket; the stats rule is unchanged by attributes.
    #[test]
    fn age_parses_among_any_attributes(
        age in any::<u32>(),
        info_len in 48usize..400,
        others in proptest::collection::vec((3u16..40, proptest::collection::vec(any::<u8>(), 0..40)), 0..5),
        at in 0usize..6,
        close_wait in any::<bool>(),
    ) {
        let mut attrs = others;
        attrs.insert(at.min(attrs.len()), (INET_DIAG_INFO, tcp_info_with_age(age, info_len)));
        let state = if close_wait { TCP_CLOSE_WAIT } else { TCP_ESTABLISHED };
        let local: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let sock = parse_msg(&msg(local, state, 0, &attrs)).unwrap().unwrap();
        prop_assert_eq!(sock.age_ms, Some(age));
        let addrs = [local, "0.0.0.0:80".parse().unwrap(), "127.0.0.2:80".parse().unwrap()];
        let mut w = Wanted::new(&addrs);
        w.add(&sock);
        let (stats, waits) = w.finish();
        prop_assert_eq!(stats, vec![ListenStats::default(); 3]);
        prop_assert_eq!(waits.iter().map(QueueWait::count).collect::<Vec<_>>(), vec![1, 1, 0]);
    }

    /// Each socket and each error comes out with its sequence number, in order; acks and
    /// other messages are skipped; a datagram cut anywhere gives a prefix of that and
    /// then an error (or nothing more), never a panic.
    #[test]
    fn answers_report_each_reply_with_its_seq(
        replies in proptest::collection::vec(reply(), 0..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = Vec::new();
        let mut want = Vec::new();
        for &(seq, reply) in &replies {
            bytes.extend(match reply {
                Reply::Found(b) => message(SOCK_DIAG_BY_FAMILY, seq, &[b; 72]),
                Reply::Error(errno) => error(seq, errno),
                Reply::Ack => error(seq, 0),
                Reply::Noop => message(NLMSG_NOOP, seq, &[]),
            });
            match reply {
                Reply::Found(b) => want.push((seq, Ok(b))),
                Reply::Error(errno) => want.push((seq, Err(errno))),
                Reply::Ack | Reply::Noop => {}
            }
        }
        let mut got = Vec::new();
        answers(&bytes, |seq, answer| {
            got.push(match answer {
                Answer::Found(p) => (seq, Ok(p[0])),
                Answer::Error(errno) => (seq, Err(errno)),
            });
            Ok(())
        }).unwrap();
        prop_assert_eq!(&got, &want);
        let cut = cut.index(bytes.len() + 1);
        let mut partial = Vec::new();
        let res = answers(&bytes[..cut], |seq, answer| {
            partial.push((seq, matches!(answer, Answer::Found(_))));
            Ok(())
        });
        prop_assert!(partial.len() <= got.len());
        for (p, g) in partial.iter().zip(&got) {
            prop_assert_eq!(*p, (g.0, g.1.is_ok()));
        }
        if cut % 4 != 0 {
            prop_assert!(res.is_err(), "a cut message is an error");
        }
    }

}
