//! TCP listeners over `NETLINK_SOCK_DIAG`: the `inet_diag_req_v2` request with its bytecode
//! filter, the `inet_diag_msg` reply, and the one rule that turns sockets into
//! [`ListenStats`].
//!
//! # The rule (shared by every query form)
//!
//! For a listener address `A:P` of family `F`:
//!
//! - **queued** = the sum of `idiag_rqueue` (the accept-queue length) over the `LISTEN`
//!   sockets of family `F` bound exactly to `A:P`: every `SO_REUSEPORT` member counts.
//! - **active** = the number of `ESTABLISHED` sockets of family `F` with local port `P` and
//!   local address `A` (any address when `A` is the wildcard) that have been `accept()`ed,
//!   i.e. have an inode: connections still waiting in the accept queue are `ESTABLISHED` too,
//!   but they are what *queued* counts.
//!
//! A dual-stack `[::]:P` listener's IPv4 clients are `AF_INET6` sockets with v4-mapped
//! addresses, so they count for `[::]:P` (and not for `0.0.0.0:P`, which has no listener
//! then).
//!
//! # The bytecode filter
//!
//! `INET_DIAG_REQ_BYTECODE` is a little program the kernel runs on each socket
//! (`net/ipv4/inet_diag.c`, `inet_diag_bc_run`). Each op is `{ code: u8, yes: u8, no: u16 }`;
//! it jumps `yes` bytes forward when its condition holds and `no` bytes otherwise; landing
//! exactly on the end accepts the socket, jumping 4 bytes past it rejects. We OR together one
//! `S_COND` (source address/prefix/port) per address, the way `ss` compiles `a || b`:
//!
//! ```text
//! [S_COND a: yes=len(a) no=len(a)+4] [JMP: no=to end] [S_COND b: yes=len(b) no=len(b)+4]
//! ```
//!
//! `a` true falls through to the `JMP`, which always takes `no` to the end (accept); `a` false
//! skips the `JMP` and tries `b`; the last op's `no` lands 4 bytes past the end (reject). The
//! kernel's audit (`inet_diag_bc_audit`) walks the `yes` chain, which this layout keeps valid.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::netlink::{NLA_HDRLEN, Reader, align4, attributes, finish_request, start_request};
use super::queue_wait::{self, QueueWait, SockId};
use super::{ListenError, ListenStats};

pub(crate) const AF_INET: u8 = libc::AF_INET as u8;
pub(crate) const AF_INET6: u8 = libc::AF_INET6 as u8;
/// `TCP_ESTABLISHED` from `include/net/tcp_states.h`.
pub(crate) const TCP_ESTABLISHED: u8 = 1;
/// `TCP_CLOSE_WAIT` from `include/net/tcp_states.h`: a queued connection whose client closed.
pub(crate) const TCP_CLOSE_WAIT: u8 = 8;
/// `TCP_LISTEN` from `include/net/tcp_states.h`.
pub(crate) const TCP_LISTEN: u8 = 10;
/// States bitmask for a full query.
pub(crate) const STATES_ALL: u32 = 1 << TCP_ESTABLISHED | 1 << TCP_LISTEN;
/// States bitmask for a query with waits: queued connections may be `CLOSE_WAIT` too.
pub(crate) const STATES_WAIT: u32 = STATES_ALL | 1 << TCP_CLOSE_WAIT;
/// States bitmask for a queued-only query: the kernel then skips the established hash.
pub(crate) const STATES_LISTEN: u32 = 1 << TCP_LISTEN;

const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_BC_JMP: u8 = 1;
const INET_DIAG_BC_S_GE: u8 = 2;
const INET_DIAG_BC_S_LE: u8 = 3;
const INET_DIAG_BC_S_COND: u8 = 7;
/// `struct inet_diag_msg`: 4 bytes, a 48-byte `inet_diag_sockid`, 5 × u32.
const INET_DIAG_MSG_LEN: usize = 72;
/// More addresses than this and the filter is skipped (the attribute length is a u16, and a
/// long program costs the kernel more than it saves); the userspace rule still applies.
const MAX_FILTERED_ADDRS: usize = 512;

/// One socket of a reply, the fields the rule needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InetSock {
    pub(crate) state: u8,
    pub(crate) local: SocketAddr,
    pub(crate) rqueue: u32,
    pub(crate) inode: u32,
    /// For a connection still in an accept queue (inode 0) of a reply with `INET_DIAG_INFO`:
    /// its age in ms (`tcpi_last_data_sent`, see `queue_wait.rs`).
    pub(crate) age_ms: Option<u32>,
    /// For a connection still in an accept queue: its full id, to ask for its age exactly.
    pub(crate) id: Option<SockId>,
}

impl InetSock {
    /// Whether this is a connection waiting in an accept queue: established (or closed by
    /// its client) and not yet given a file by `accept()`.
    pub(crate) fn is_queued(&self) -> bool {
        matches!(self.state, TCP_ESTABLISHED | TCP_CLOSE_WAIT) && self.inode == 0
    }
}

/// A dump request: address family and `TCP_*` states bitmask. It asks for no extension
/// (`idiag_ext` 0): the queued sockets' `tcp_info` comes from exact lookups afterwards.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Query {
    pub(crate) family: u8,
    pub(crate) states: u32,
}

/// Encodes a `SOCK_DIAG_BY_FAMILY` dump request for `query`, filtered to the sockets whose
/// local address matches one of `filter` (all of family `query.family`), or unfiltered when
/// `filter` is `None`.
pub(crate) fn encode_request(
    buf: &mut Vec<u8>,
    seq: u32,
    query: Query,
    filter: Option<&[SocketAddr]>,
) {
    let Query { family, states } = query;
    start_request(buf, seq);
    // struct inet_diag_req_v2: family, protocol, idiag_ext, pad, states, then the sockid.
    buf.extend_from_slice(&[family, libc::IPPROTO_TCP as u8, 0, 0]);
    buf.extend_from_slice(&states.to_ne_bytes());
    // inet_diag_sockid: the kernel compares idiag_sport (big-endian) before running the
    // bytecode, so when every address shares a port we set it as a cheap pre-filter.
    let sport = match filter {
        Some([first, rest @ ..]) if rest.iter().all(|a| a.port() == first.port()) => first.port(),
        _ => 0,
    };
    buf.extend_from_slice(&sport.to_be_bytes());
    buf.extend_from_slice(&[0; 46]); // dport, src, dst, if, cookie
    let Some(addrs) = filter.filter(|a| !a.is_empty() && a.len() <= MAX_FILTERED_ADDRS) else {
        finish_request(buf);
        return;
    };
    let attr_start = buf.len();
    buf.extend_from_slice(&[0; NLA_HDRLEN]); // nla_len, nla_type: patched below
    let code_start = buf.len();
    encode_filter(buf, addrs);
    let attr_len = (buf.len() - attr_start) as u16;
    buf[attr_start..attr_start + 2].copy_from_slice(&attr_len.to_ne_bytes());
    buf[attr_start + 2..code_start].copy_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
    buf.resize(attr_start + align4(attr_len as usize), 0);
    finish_request(buf);
}

/// Appends a bytecode program that accepts the sockets whose local address matches one of
/// `addrs` (at most [`MAX_FILTERED_ADDRS`]).
///
/// The kernel runs it on every socket of the dump, and most (clients, connections on other
/// ports) match nothing, so the program starts with a port-range guard (`S_GE low`, `S_LE
/// high`) that rejects them in two comparisons; then each address is tried in turn (`S_COND`,
/// each but the last followed by a `JMP` to the end: accept). Offsets are relative to each op;
/// reaching the end exactly accepts, jumping 4 past it rejects (`inet_diag_bc_run` in
/// `net/ipv4/inet_diag.c`).
///
/// (Cutting the addresses into port-range groups, each behind its own guard, made no
/// measurable difference at 100 listeners and 10,000 connections: the cost is the matching
/// sockets' replies, not the comparisons.)
fn encode_filter(buf: &mut Vec<u8>, addrs: &[SocketAddr]) {
    let conds: Vec<Vec<u8>> = addrs.iter().map(|a| host_cond(*a)).collect();
    let total = 16 + conds.iter().map(|c| c.len() + 4).sum::<usize>() - 4;
    let reject = total + 4;
    let (low, high) =
        addrs.iter().fold((u16::MAX, 0), |(lo, hi), a| (lo.min(a.port()), hi.max(a.port())));
    let mut pos = 0;
    for (code, bound) in [(INET_DIAG_BC_S_GE, low), (INET_DIAG_BC_S_LE, high)] {
        // 8 bytes: the op, then one holding the port in its `no` field.
        op(buf, pos, code, 8, reject);
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&bound.to_ne_bytes());
        pos += 8;
    }
    for (i, cond) in conds.iter().enumerate() {
        let len = cond.len();
        // yes: on to the JMP (or the end, for the last); no: past the JMP to the next address,
        // or, for the last, reject.
        let last = i + 1 == conds.len();
        op(buf, pos, INET_DIAG_BC_S_COND, len, if last { reject } else { pos + len + 4 });
        buf.extend_from_slice(&cond[4..]);
        pos += len;
        if !last {
            // A JMP never matches, so it always takes `no`: the end, accept.
            op(buf, pos, INET_DIAG_BC_JMP, 4, total);
            pos += 4;
        }
    }
    debug_assert_eq!(pos, total);
}

/// Appends an `inet_diag_bc_op` at `pos` (relative to the program) going `yes` bytes on when
/// it matches, else to `target`. Offsets fit: a program is at most ~17 KB.
fn op(buf: &mut Vec<u8>, pos: usize, code: u8, yes: usize, target: usize) {
    buf.extend_from_slice(&[code, yes as u8]);
    buf.extend_from_slice(&((target - pos) as u16).to_ne_bytes());
}

/// One `S_COND` op (its first 4 bytes are a placeholder) with its `inet_diag_hostcond`:
/// family, prefix length in bits (0 for the wildcard: any address of the family), the port
/// in host order as an `int`, then the address bytes.
fn host_cond(addr: SocketAddr) -> Vec<u8> {
    let (family, bytes, bits): (u8, Vec<u8>, u8) = match addr.ip() {
        IpAddr::V4(ip) => (AF_INET, ip.octets().to_vec(), 32),
        IpAddr::V6(ip) => (AF_INET6, ip.octets().to_vec(), 128),
    };
    let prefix = if addr.ip().is_unspecified() { 0 } else { bits };
    let mut op = vec![0; 4];
    op.extend_from_slice(&[family, prefix, 0, 0]);
    op.extend_from_slice(&i32::from(addr.port()).to_ne_bytes());
    op.extend_from_slice(&bytes);
    op
}

/// Decodes one `inet_diag_msg` payload; `None` for a family other than IPv4/IPv6.
pub(crate) fn parse_msg(payload: &[u8]) -> Result<Option<InetSock>, ListenError> {
    let r = Reader(payload);
    if payload.len() < INET_DIAG_MSG_LEN {
        return Err(ListenError::Malformed { what: "inet_diag_msg shorter than 72 bytes" });
    }
    let short = ListenError::Malformed { what: "inet_diag_msg" };
    let family = r.u8(0).ok_or(short)?;
    let state = r.u8(1).ok_or(ListenError::Malformed { what: "inet_diag_msg" })?;
    let sport = r.u16_be(4).ok_or(ListenError::Malformed { what: "inet_diag_msg" })?;
    let src: [u8; 16] = r.array(8).ok_or(ListenError::Malformed { what: "inet_diag_msg" })?;
    let rqueue = r.u32_ne(56).ok_or(ListenError::Malformed { what: "inet_diag_msg" })?;
    let inode = r.u32_ne(68).ok_or(ListenError::Malformed { what: "inet_diag_msg" })?;
    let ip = match family {
        AF_INET => IpAddr::V4(Ipv4Addr::new(src[0], src[1], src[2], src[3])),
        AF_INET6 => IpAddr::V6(Ipv6Addr::from(src)),
        _ => return Ok(None),
    };
    let local = SocketAddr::new(ip, sport);
    let mut sock = InetSock { state, local, rqueue, inode, age_ms: None, id: None };
    if sock.is_queued() {
        sock.id = r.array(4).map(|id| SockId { family, id });
        let attrs = payload.get(INET_DIAG_MSG_LEN..).unwrap_or_default();
        sock.age_ms = attributes(attrs)
            .find(|&(kind, _)| kind == queue_wait::INET_DIAG_INFO)
            .and_then(|(_, info)| queue_wait::age_ms(info));
    }
    Ok(Some(sock))
}

/// Applies the rule for a fixed list of addresses (duplicates allowed: each gets the numbers).
#[derive(Debug)]
pub(crate) struct Wanted<'a> {
    addrs: &'a [SocketAddr],
    by_port: HashMap<u16, Vec<usize>>,
    pub(crate) stats: Vec<ListenStats>,
    /// The ages of each address's queued connections (empty unless the reply had them).
    pub(crate) waits: Vec<QueueWait>,
}

impl<'a> Wanted<'a> {
    pub(crate) fn new(addrs: &'a [SocketAddr]) -> Self {
        let mut by_port: HashMap<u16, Vec<usize>> = HashMap::new();
        for (i, a) in addrs.iter().enumerate() {
            by_port.entry(a.port()).or_default().push(i);
        }
        let n = addrs.len();
        Wanted {
            addrs,
            by_port,
            stats: vec![ListenStats::default(); n],
            waits: vec![QueueWait::default(); n],
        }
    }

    pub(crate) fn add(&mut self, sock: &InetSock) {
        let Some(idxs) = self.by_port.get(&sock.local.port()) else { return };
        for &i in idxs {
            let want = self.addrs[i];
            let covers = covers(want, sock.local);
            if let Some(age) = sock.age_ms.filter(|_| covers) {
                self.waits[i].push(age);
            }
            let stats = &mut self.stats[i];
            match sock.state {
                TCP_LISTEN if sock.local.ip() == want.ip() => {
                    stats.queued = stats.queued.saturating_add(sock.rqueue);
                }
                TCP_ESTABLISHED if sock.inode != 0 && covers => {
                    stats.active = stats.active.saturating_add(1);
                }
                _ => {}
            }
        }
    }

    /// Whether a connection on `local` would count for one of the addresses.
    pub(crate) fn covers(&self, local: SocketAddr) -> bool {
        let idxs = self.by_port.get(&local.port()).map_or(&[][..], Vec::as_slice);
        idxs.iter().any(|&i| covers(self.addrs[i], local))
    }

    /// The stats, and the waits with their ages sorted.
    pub(crate) fn finish(mut self) -> (Vec<ListenStats>, Vec<QueueWait>) {
        self.waits.iter_mut().for_each(QueueWait::finish);
        (self.stats, self.waits)
    }
}

/// Whether a connection on `local` counts for the listener address `want` of the same port:
/// the same family, and the same address unless `want` is the wildcard.
fn covers(want: SocketAddr, local: SocketAddr) -> bool {
    want.is_ipv4() == local.is_ipv4() && (want.ip().is_unspecified() || local.ip() == want.ip())
}

/// The wildcard address of `local`'s family and port.
fn wildcard_of(local: SocketAddr) -> SocketAddr {
    match local {
        SocketAddr::V4(_) => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), local.port()),
        SocketAddr::V6(_) => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), local.port()),
    }
}

/// Applies the rule to every listener seen: listeners first, then each accepted connection
/// (and each queued one's age) counts for its exact listener and for its family's wildcard
/// listener on that port.
#[derive(Debug, Default)]
pub(crate) struct All {
    listeners: BTreeMap<SocketAddr, (ListenStats, QueueWait)>,
    /// Local address, and the age for a queued connection (`None`: an accepted one).
    established: Vec<(SocketAddr, Option<u32>)>,
}

impl All {
    pub(crate) fn add(&mut self, sock: &InetSock) {
        match sock.state {
            TCP_LISTEN => {
                let (stats, _) = self.listeners.entry(sock.local).or_default();
                stats.queued = stats.queued.saturating_add(sock.rqueue);
            }
            TCP_ESTABLISHED if sock.inode != 0 => self.established.push((sock.local, None)),
            _ => {
                if let Some(age) = sock.age_ms {
                    self.established.push((sock.local, Some(age)));
                }
            }
        }
    }

    /// Whether a connection on `local` counts for a listener seen so far (its own address or
    /// its family's wildcard on its port).
    pub(crate) fn covers(&self, local: SocketAddr) -> bool {
        self.listeners.contains_key(&local) || self.listeners.contains_key(&wildcard_of(local))
    }

    pub(crate) fn finish(self) -> Vec<(SocketAddr, ListenStats)> {
        self.finish_waits().into_iter().map(|(a, s, _)| (a, s)).collect()
    }

    pub(crate) fn finish_waits(mut self) -> Vec<(SocketAddr, ListenStats, QueueWait)> {
        for (local, age) in &self.established {
            for key in [*local, wildcard_of(*local)] {
                if let Some((stats, wait)) = self.listeners.get_mut(&key) {
                    match age {
                        None => stats.active = stats.active.saturating_add(1),
                        Some(age) => wait.push(*age),
                    }
                }
                if local.ip().is_unspecified() {
                    break; // the same key twice
                }
            }
        }
        self.listeners
            .into_iter()
            .map(|(addr, (stats, mut wait))| {
                wait.finish();
                (addr, stats, wait)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listen::diag_replies::datagram;
    use crate::listen::netlink::walk;
    use proptest::prelude::*;

    #[test]
    fn request_layout() {
        let mut buf = Vec::new();
        let a: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "0.0.0.0:81".parse().unwrap();
        let query = Query { family: AF_INET, states: STATES_ALL };
        encode_request(&mut buf, 9, query, Some(&[a, b]));
        // header 16 + req 56 + nla 4 + (8 S_GE + 8 S_LE + 16 cond + 4 jmp + 16 cond)
        assert_eq!(buf.len(), 16 + 56 + 4 + 16 + 36);
        assert_eq!(u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize, buf.len());
        // The guard: sport >= 80, else 4 past the end (52 bytes from here); sport <= 81.
        let guard = &buf[76..92];
        assert_eq!(&guard[..4], &[INET_DIAG_BC_S_GE, 8, 56, 0][..]);
        assert_eq!(u16::from_ne_bytes(guard[6..8].try_into().unwrap()), 80);
        assert_eq!(&guard[8..12], &[INET_DIAG_BC_S_LE, 8, 48, 0][..]);
        assert_eq!(u16::from_ne_bytes(guard[14..16].try_into().unwrap()), 81);
        let code = &buf[92..];
        assert_eq!(&code[..4], &[INET_DIAG_BC_S_COND, 16, 20, 0][..]);
        assert_eq!(&code[4..8], &[AF_INET, 32, 0, 0][..]);
        assert_eq!(i32::from_ne_bytes(code[8..12].try_into().unwrap()), 80);
        assert_eq!(&code[12..16], &[127, 0, 0, 1][..]);
        // JMP: never matches, no = 4 + the last cond's 16 bytes = exactly the end.
        assert_eq!(&code[16..20], &[INET_DIAG_BC_JMP, 4, 20, 0][..]);
        assert_eq!(&code[20..24], &[INET_DIAG_BC_S_COND, 16, 20, 0][..]);
        assert_eq!(&code[24..28], &[AF_INET, 0, 0, 0][..]);
        // Different ports: no sport pre-filter.
        assert_eq!(&buf[24..26], &[0, 0][..]);
    }

    /// `inet_diag_bc_run`, for the ops we emit and IPv4 sockets: whether the kernel would
    /// accept a socket bound locally to `sock`.
    fn run(code: &[u8], sock: SocketAddr) -> bool {
        let (mut pc, len) = (0usize, code.len());
        while pc < len {
            let op = &code[pc..];
            let (yes, no) = (usize::from(op[1]), usize::from(u16::from_ne_bytes([op[2], op[3]])));
            let bound = || u16::from_ne_bytes([op[6], op[7]]);
            let matched = match op[0] {
                INET_DIAG_BC_JMP => false,
                INET_DIAG_BC_S_GE => sock.port() >= bound(),
                INET_DIAG_BC_S_LE => sock.port() <= bound(),
                INET_DIAG_BC_S_COND => {
                    let port = i32::from_ne_bytes(op[8..12].try_into().unwrap());
                    let IpAddr::V4(ip) = sock.ip() else { unreachable!() };
                    port == i32::from(sock.port()) && (op[5] == 0 || op[12..16] == ip.octets())
                }
                other => panic!("unexpected op {other}"),
            };
            pc += if matched { yes } else { no };
        }
        pc == len
    }

    proptest::proptest! {
        /// The program accepts exactly the sockets one of the addresses covers (a wildcard
        /// covers every local address of its port), duplicates and all.
        #[test]
        fn filter_program_accepts_exactly_the_wanted_sockets(
            wanted in proptest::collection::vec((0u8..3, 1u16..40), 1..70),
            probes in proptest::collection::vec((1u8..4, 1u16..45), 1..40),
        ) {
            let ip = |i: u8| if i == 0 { Ipv4Addr::UNSPECIFIED } else { Ipv4Addr::new(127, 0, 0, i) };
            let wanted: Vec<SocketAddr> =
                wanted.into_iter().map(|(i, port)| SocketAddr::from((ip(i), port))).collect();
            let mut code = Vec::new();
            encode_filter(&mut code, &wanted);
            for (i, port) in probes {
                let sock = SocketAddr::from((ip(i), port));
                let expected = wanted.iter().any(|w| {
                    w.port() == port && (w.ip().is_unspecified() || w.ip() == sock.ip())
                });
                proptest::prop_assert_eq!(run(&code, sock), expected, "{} in {:?}", sock, wanted);
            }
        }
    }

    #[test]
    fn wildcard_counts_every_local_address() {
        let wild: SocketAddr = "0.0.0.0:80".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let addrs = [wild, lo, lo];
        let mut w = Wanted::new(&addrs);
        let mut all = All::default();
        let other: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let sock = |state, local, rqueue, inode, age_ms| InetSock {
            state,
            local,
            rqueue,
            inode,
            age_ms,
            id: None,
        };
        let socks = [
            sock(TCP_LISTEN, wild, 3, 1, None),
            sock(TCP_ESTABLISHED, lo, 0, 5, None),
            sock(TCP_ESTABLISHED, other, 0, 6, None),
            // still in the accept queue: counted by queued, not active; its age by the waits
            sock(TCP_ESTABLISHED, lo, 0, 0, Some(7)),
            sock(TCP_CLOSE_WAIT, other, 0, 0, Some(3)),
        ];
        for s in &socks {
            w.add(s);
            all.add(s);
        }
        let (stats, waits) = w.finish();
        assert_eq!(stats[0], ListenStats { active: 2, queued: 3 });
        assert_eq!(stats[1], ListenStats { active: 1, queued: 0 });
        assert_eq!(stats[2], stats[1]);
        assert_eq!(waits[0].ages_ms(), [3, 7]);
        assert_eq!(waits[1].ages_ms(), [7]);
        assert_eq!(waits[2], waits[1]);
        let all = all.finish_waits();
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].0, all[0].1), (wild, ListenStats { active: 2, queued: 3 }));
        assert_eq!(all[0].2, waits[0]);
    }

    proptest! {
        #[test]
        fn reply_parser_never_panics(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 0..6),
            noise in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = datagram(&payloads);
            let mut all = All::default();
            let addrs = ["0.0.0.0:1".parse().unwrap()];
            let mut w = Wanted::new(&addrs);
            let _ = walk(&bytes, 1, "test", |p| {
                if let Some(s) = parse_msg(p)? { all.add(&s); w.add(&s); }
                Ok(())
            });
            bytes.extend_from_slice(&noise);
            let _ = walk(&bytes, 1, "test", |p| {
                if let Some(s) = parse_msg(p)? { all.add(&s); w.add(&s); }
                Ok(())
            });
            let _ = all.finish_waits();
            let _ = w.finish();
        }
    }
}
