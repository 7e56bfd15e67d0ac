//! [`QueueWait`]: how long the connections in a TCP listener's accept queue have been waiting,
//! read from the kernel with no cooperation from the server.
//!
//! The ages' source, meaning, resolution and cost are documented on [`QueueWait`].

use std::time::Duration;

use super::netlink::{finish_message, start_exact};
use crate::Aggregate;

/// `INET_DIAG_INFO` from `linux/inet_diag.h`: the attribute carrying `struct tcp_info`.
pub(crate) const INET_DIAG_INFO: u16 = 2;
/// `idiag_ext` bit asking for [`INET_DIAG_INFO`].
const EXT_INFO: u8 = 1 << (INET_DIAG_INFO - 1);
/// Offset of `tcpi_last_data_sent` (u32, ms) in `struct tcp_info`.
const LAST_DATA_SENT: usize = 44;
/// `struct inet_diag_sockid`: ports, addresses, interface and cookie.
const SOCKID_LEN: usize = 48;

/// Reads the age in ms (`tcpi_last_data_sent`) from a `struct tcp_info` attribute; `None`
/// when it is too short to hold the field.
pub(crate) fn age_ms(tcp_info: &[u8]) -> Option<u32> {
    let bytes = tcp_info.get(LAST_DATA_SENT..LAST_DATA_SENT + 4)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

/// A socket to ask the kernel for again, exactly: its address family and its full
/// `inet_diag_sockid` as a dump reported it (ports, addresses, interface, and the cookie
/// that tells it from a later socket on the same 4-tuple).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SockId {
    pub(crate) family: u8,
    pub(crate) id: [u8; SOCKID_LEN],
}

/// Appends to `buf` one exact (non-dump) `SOCK_DIAG_BY_FAMILY` request for `sock` asking
/// for its `tcp_info`; `buf` may hold other requests already.
pub(crate) fn encode_lookup(buf: &mut Vec<u8>, seq: u32, sock: &SockId) {
    let at = start_exact(buf, seq);
    // struct inet_diag_req_v2: family, protocol, idiag_ext, pad, states (an exact lookup
    // ignores them), then the sockid.
    buf.extend_from_slice(&[sock.family, libc::IPPROTO_TCP as u8, EXT_INFO, 0]);
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&sock.id);
    finish_message(buf, at);
}

/// The ages of the connections waiting in one TCP listener's accept queue, summed over every
/// `SO_REUSEPORT` socket bound to its address (and, for a wildcard address, waiting on any
/// local address), as one [`SockDiag`](super::SockDiag) dump saw them.
///
/// Ages are milliseconds since each connection's handshake completed: exactly how long it has
/// waited so far, request sent or not, in kernel ticks (below: the exact field, its
/// resolution and how [`count`](Self::count) compares with
/// [`ListenStats::queued`](super::ListenStats)).
///
/// # Where the ages come from
///
/// A connection the kernel has finished the handshake for sits in its listener's accept queue
/// as a full `ESTABLISHED` socket (`CLOSE_WAIT` once the client has closed its side) on the
/// listener's local address, with **inode 0**: it gets a file, hence an inode, only when
/// `accept()` hands it to the server; `ss -tnie` shows such sockets as `ino:0`. A query with
/// waits takes two steps on one `NETLINK_SOCK_DIAG` socket:
///
/// 1. **the stats walk**: the same dump as the plain stats (`LISTEN`, `ESTABLISHED` and
///    `CLOSE_WAIT` sockets on the listeners' addresses, no extensions), which lists every
///    queued connection with its full id: addresses, ports, interface and the kernel's
///    **cookie** for that socket;
/// 2. **exact lookups** of the queued ones only (at most the backlogs): one non-dump
///    `SOCK_DIAG_BY_FAMILY` request with `INET_DIAG_INFO` (the socket's `struct tcp_info`)
///    per socket, carrying its full id, many requests to a datagram. The kernel finds each
///    in its established hash (unaccepted children are there) and checks the cookie, so a
///    new connection on a reused 4-tuple never answers for the one the dump saw (`ENOENT`).
///    A connection **gone** since the dump (accepted and closed, reset) answers `ENOENT`, and
///    one **accepted** meanwhile answers with an inode: both are dropped.
///
/// The age is **`tcpi_last_data_sent`**: milliseconds since `tp->lsndtime`, which the kernel
/// stamps when it creates the socket on the handshake's final ACK (`tcp_create_openreq_child`)
/// and moves only when it sends data (`tcp_event_data_sent`; pure ACKs do not count), which
/// nothing does before `accept`. So it is **exactly the time since the handshake completed**:
/// how long the connection has waited in the queue so far, whether or not the client has
/// sent its request (the same field the accept wrappers read right after `accept`:
/// `raindrops_http::listeners::accept_wait`). `tcpi_last_data_recv` would restart when the
/// request arrives, a lower bound only. On a `TCP_DEFER_ACCEPT` listener the kernel creates
/// the socket only when the client's first data arrives, so there the age starts with the
/// request.
///
/// **Resolution**: the kernel keeps these times in jiffies, so ages are multiples of one tick,
/// `1000 / CONFIG_HZ` ms (4 ms at `HZ=250`, 1 ms at `HZ=1000`), truncated.
///
/// # The count and the accept-queue length
///
/// [`QueueWait::count`] counts sockets; the listener's accept-queue length
/// ([`ListenStats::queued`](super::ListenStats), the kernel's `sk_ack_backlog`) counts queue
/// entries. They agree on a quiet listener, and can differ by:
///
/// - connections **mid-accept**: `accept()` takes the entry off the queue before it gives the
///   socket its file, so for that instant a socket with inode 0 is no longer queued (count
///   higher);
/// - connections **reset while queued**: the kernel closes the socket (it leaves the dump)
///   but its entry stays in the queue until `accept()` returns it (count lower);
/// - **the query is not atomic**: the dump reads the listeners first and the connections
///   after, and the exact lookups come after the dump, so connections completing or accepted
///   in between are seen on one side only (an accepted one is never reported as waiting: its
///   lookup answers with its inode).
///
/// Connections still **mid-handshake** (`SYN_RECV`) are in neither: they are not queued yet.
///
/// # Cost
///
/// The stats walk carries 124 reply bytes per socket (no `tcp_info`); only the queued
/// connections, at most the backlogs, cost more: a 72-byte request and a 408-byte reply each,
/// about 1.2 µs apiece (the kernel's hash lookup and one `recv` per reply; unlike the walk,
/// this does not grow with the host's other sockets). Batches hold at most
/// 128 lookups, since the kernel answers a whole datagram before we read and drops what the
/// receive buffer cannot hold (those are asked for again in smaller batches). Measured
/// (`benches/listener_stats.rs`, release, 2 cores shared with other builds, three runs, the
/// median of per-turn ratios to the stats walk): 1.00× at 0 connections, 1.00–1.02× at
/// 1,000 with 10 queued, 1.01–1.04× at 10,000 with 100 queued, 1.19–1.32× at 10,000 with a
/// deep queue of 1,000. The earlier single dump with every socket's `tcp_info` costs
/// 1.08–1.35× at 10,000 with 100 queued, and `ss -tni` filtered to the port 4–25× as long as
/// the wait query.
///
/// Unix listeners have no such clock (`unix_diag` reports no per-connection times), so their
/// wait is *none*, not zero: see [`SockDiag::waits`](super::SockDiag::waits).
///
/// # Example
///
/// ```no_run
/// let mut diag = raindrops::SockDiag::new()?;
/// let (stats, wait) = &diag.tcp_waits(&["127.0.0.1:8080".parse().unwrap()])?[0];
/// println!("queued={} waiting={} oldest={:?}", stats.queued, wait.count(), wait.oldest());
/// if let Some(p99) = wait.percentile_ms(99.0) {
///     println!("p99 {p99} ms");
/// }
/// print!("{}", wait.to_aggregate());
/// # Ok::<(), raindrops::ListenError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueueWait {
    /// Ascending.
    ages_ms: Vec<u32>,
}

impl QueueWait {
    /// A wait from ages in milliseconds, in any order.
    ///
    /// ```
    /// let wait = raindrops::QueueWait::from_ages_ms(vec![500, 0, 1500]);
    /// assert_eq!(wait.ages_ms(), [0, 500, 1500]);
    /// ```
    pub fn from_ages_ms(mut ages_ms: Vec<u32>) -> Self {
        ages_ms.sort_unstable();
        QueueWait { ages_ms }
    }

    /// The ages in milliseconds, youngest first.
    ///
    /// ```
    /// assert!(raindrops::QueueWait::default().ages_ms().is_empty());
    /// ```
    pub fn ages_ms(&self) -> &[u32] {
        &self.ages_ms
    }

    /// How many connections are waiting (see [`QueueWait`] for how this compares with the
    /// accept-queue length).
    ///
    /// ```
    /// assert_eq!(raindrops::QueueWait::from_ages_ms(vec![3, 4]).count(), 2);
    /// ```
    pub fn count(&self) -> usize {
        self.ages_ms.len()
    }

    /// Whether no connection is waiting.
    ///
    /// ```
    /// assert!(raindrops::QueueWait::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.ages_ms.is_empty()
    }

    /// The oldest age in milliseconds; `None` when nothing waits.
    ///
    /// ```
    /// let wait = raindrops::QueueWait::from_ages_ms(vec![8, 1520]);
    /// assert_eq!(wait.oldest_ms(), Some(1520));
    /// assert_eq!(raindrops::QueueWait::default().oldest_ms(), None);
    /// ```
    pub fn oldest_ms(&self) -> Option<u32> {
        self.ages_ms.last().copied()
    }

    /// The oldest age; `None` when nothing waits.
    ///
    /// ```
    /// use std::time::Duration;
    /// let wait = raindrops::QueueWait::from_ages_ms(vec![8, 1520]);
    /// assert_eq!(wait.oldest(), Some(Duration::from_millis(1520)));
    /// ```
    pub fn oldest(&self) -> Option<Duration> {
        self.oldest_ms().map(|ms| Duration::from_millis(ms.into()))
    }

    /// The `p`-th percentile (0 to 100) of the ages in milliseconds, exact (nearest rank);
    /// `None` when nothing waits or `p` is out of range.
    ///
    /// ```
    /// let wait = raindrops::QueueWait::from_ages_ms((1..=100).collect());
    /// assert_eq!(wait.percentile_ms(50.0), Some(50));
    /// assert_eq!(wait.percentile_ms(99.0), Some(99));
    /// assert_eq!(wait.percentile_ms(100.0), Some(100));
    /// assert_eq!(raindrops::QueueWait::default().percentile_ms(50.0), None);
    /// ```
    pub fn percentile_ms(&self, p: f64) -> Option<u32> {
        let n = self.ages_ms.len();
        if n == 0 || !(0.0..=100.0).contains(&p) {
            return None;
        }
        let rank = ((p / 100.0 * n as f64).ceil() as usize).clamp(1, n);
        self.ages_ms.get(rank - 1).copied()
    }

    /// The ages (ms) as an [`Aggregate`] with a log2 histogram: the `aggregate` gem's text,
    /// mean and standard deviation. Ages of 0 (under one kernel tick) are its low outliers.
    ///
    /// ```
    /// let agg = raindrops::QueueWait::from_ages_ms(vec![0, 500, 1500]).to_aggregate();
    /// assert_eq!((agg.count(), agg.max(), agg.outliers_low()), (3, Some(1500), 1));
    /// ```
    pub fn to_aggregate(&self) -> Aggregate {
        self.ages_ms.iter().map(|&ms| i64::from(ms)).collect()
    }

    pub(crate) fn push(&mut self, age_ms: u32) {
        self.ages_ms.push(age_ms);
    }

    pub(crate) fn finish(&mut self) {
        self.ages_ms.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::listen::netlink::{NLM_F_REQUEST, Reader, SOCK_DIAG_BY_FAMILY};

    #[test]
    fn lookups_share_a_datagram_each_with_its_full_id() {
        let mut buf = Vec::new();
        let ids = [
            SockId { family: libc::AF_INET as u8, id: [7; 48] },
            SockId { family: libc::AF_INET6 as u8, id: std::array::from_fn(|i| i as u8) },
        ];
        for (i, id) in ids.iter().enumerate() {
            encode_lookup(&mut buf, 40 + i as u32, id);
        }
        assert_eq!(buf.len(), 2 * (16 + 56));
        for (i, (req, id)) in buf.chunks(72).zip(&ids).enumerate() {
            let r = Reader(req);
            assert_eq!(r.u32_ne(0), Some(72));
            assert_eq!(r.u16_ne(4), Some(SOCK_DIAG_BY_FAMILY));
            // Not a dump: the kernel looks the one socket up (and checks its cookie).
            assert_eq!(r.u16_ne(6), Some(NLM_F_REQUEST));
            assert_eq!(r.u32_ne(8), Some(40 + i as u32));
            assert_eq!(&req[16..20], &[id.family, libc::IPPROTO_TCP as u8, EXT_INFO, 0]);
            assert_eq!(&req[24..72], &id.id[..]);
        }
    }

    proptest! {
        #[test]
        fn percentiles_are_ranks_of_the_sorted_ages(
            ages in proptest::collection::vec(any::<u32>(), 0..200),
            p in -10.0f64..110.0,
        ) {
            let wait = QueueWait::from_ages_ms(ages.clone());
            let mut sorted = ages;
            sorted.sort_unstable();
            prop_assert_eq!(wait.oldest_ms(), sorted.last().copied());
            match wait.percentile_ms(p) {
                None => prop_assert!(sorted.is_empty() || !(0.0..=100.0).contains(&p)),
                Some(v) => {
                    // At least p% of the ages are <= v, and fewer than p% are < v.
                    let n = sorted.len() as f64;
                    let le = sorted.iter().filter(|&&a| a <= v).count() as f64;
                    let lt = sorted.iter().filter(|&&a| a < v).count() as f64;
                    prop_assert!(le >= p / 100.0 * n - 1e-9);
                    prop_assert!(lt < (p / 100.0 * n).max(1.0));
                }
            }
            prop_assert_eq!(wait.to_aggregate().count(), sorted.len() as u64);
        }

        #[test]
        fn age_reads_last_data_sent_or_nothing(info in proptest::collection::vec(any::<u8>(), 0..300)) {
            let got = age_ms(&info);
            if info.len() >= 48 {
                prop_assert_eq!(got, Some(u32::from_ne_bytes(info[44..48].try_into().unwrap())));
            } else {
                prop_assert_eq!(got, None);
            }
        }
    }
}
