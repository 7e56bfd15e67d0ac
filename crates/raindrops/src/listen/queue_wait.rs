//! [`QueueWait`]: how long the connections in a TCP listener's accept queue have been waiting,
//! read from the kernel with no cooperation from the server.
//!
//! # Where the ages come from
//!
//! A connection the kernel has finished the handshake for sits in its listener's accept queue
//! as a full `ESTABLISHED` socket (`CLOSE_WAIT` once the client has closed its side) on the
//! listener's local address, with **inode 0**: it gets a file, hence an inode, only when
//! `accept()` hands it to the server. So one `NETLINK_SOCK_DIAG` dump of the listener's sockets
//! with the `INET_DIAG_INFO` extension (each socket's `struct tcp_info`) lists every queued
//! connection with its age; `ss -tnie` shows the same sockets as `ino:0` with `lastrcv:`.
//!
//! The age is **`tcpi_last_data_recv`**: milliseconds since `icsk_ack.lrcvtime`, which the
//! kernel sets when it creates the socket on the handshake's final ACK
//! (`tcp_create_openreq_child`) and moves forward each time data arrives
//! (`tcp_event_data_recv`). So it is the time since the handshake completed for a client
//! that has sent nothing yet, and the time since the client's last data for one that has sent
//! its request: either way a **lower bound** of the time in the queue (exact when the request
//! came with the handshake, as it does from every ordinary HTTP client within a round trip).
//! (`tcpi_last_ack_recv` is moved by pure ACKs too, so it is a weaker bound;
//! `TCP_DEFER_ACCEPT` listeners create the socket only when data arrives, so there the age
//! starts with the request.)
//!
//! **Resolution**: the kernel keeps these times in jiffies, so ages are multiples of one tick,
//! `1000 / CONFIG_HZ` ms (4 ms at `HZ=250`, 1 ms at `HZ=1000`), truncated.
//!
//! # The count and the accept-queue length
//!
//! [`QueueWait::count`] counts sockets; the listener's accept-queue length
//! ([`ListenStats::queued`](super::ListenStats), the kernel's `sk_ack_backlog`) counts queue
//! entries. They agree on a quiet listener, and can differ by:
//!
//! - connections **mid-accept**: `accept()` takes the entry off the queue before it gives the
//!   socket its file, so for that instant a socket with inode 0 is no longer queued (count
//!   higher);
//! - connections **reset while queued**: the kernel closes the socket (it leaves the dump)
//!   but its entry stays in the queue until `accept()` returns it (count lower);
//! - **the dump is not atomic**: it reads the listeners first and the connections after, so
//!   connections completing or accepted in between are seen on one side only.
//!
//! Connections still **mid-handshake** (`SYN_RECV`) are in neither: they are not queued yet.
//!
//! # Cost
//!
//! The kernel's filter cannot tell a queued socket from an accepted one (nothing in the
//! bytecode tests the inode), so the dump carries `tcp_info` for every connection on the
//! listener's address: 408 reply bytes per socket instead of 124, and the kernel fills each
//! `tcp_info`. Measured (`benches/listener_stats.rs`, release, 2 cores shared with other
//! builds, three runs): about 1.0× the stats query at 0 connections, 1.05–1.15× at 1,000 and
//! 1.37–1.6× at 10,000 (e.g. 3.8 ms against 5.2 ms), where the same request written by hand
//! with its reply only scanned costs 1.17–1.49×: the kernel's work, not the parsing. `ss -tni`
//! filtered to the port takes 11–16× as long as the wait query at 10,000.
//!
//! Unix listeners have no such clock (`unix_diag` reports no per-connection times), so their
//! wait is *none*, not zero: see [`SockDiag::waits`](super::SockDiag::waits).

use std::time::Duration;

use crate::Aggregate;

/// `INET_DIAG_INFO` from `linux/inet_diag.h`: the attribute carrying `struct tcp_info`.
pub(crate) const INET_DIAG_INFO: u16 = 2;
/// `idiag_ext` bit asking for [`INET_DIAG_INFO`].
pub(crate) const EXT_INFO: u8 = 1 << (INET_DIAG_INFO - 1);
/// Offset of `tcpi_last_data_recv` (u32, ms) in `struct tcp_info`.
const LAST_DATA_RECV: usize = 52;

/// Reads the age in ms (`tcpi_last_data_recv`) from a `struct tcp_info` attribute; `None`
/// when it is too short to hold the field.
pub(crate) fn age_ms(tcp_info: &[u8]) -> Option<u32> {
    let bytes = tcp_info.get(LAST_DATA_RECV..LAST_DATA_RECV + 4)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

/// The ages of the connections waiting in one TCP listener's accept queue, summed over every
/// `SO_REUSEPORT` socket bound to its address (and, for a wildcard address, waiting on any
/// local address), as one [`SockDiag`](super::SockDiag) dump saw them.
///
/// Ages are milliseconds since the handshake completed or since the client's last data,
/// whichever is later: a lower bound of each connection's wait, in kernel ticks (see the
/// [module docs](self) for the exact field, its resolution and how [`count`](Self::count)
/// compares with [`ListenStats::queued`](super::ListenStats)).
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

    /// How many connections are waiting (see the [module docs](self) for how this compares
    /// with the accept-queue length).
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
    use super::*;
    use proptest::prelude::*;

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
        fn age_reads_last_data_recv_or_nothing(info in proptest::collection::vec(any::<u8>(), 0..300)) {
            let got = age_ms(&info);
            if info.len() >= 56 {
                prop_assert_eq!(got, Some(u32::from_ne_bytes(info[52..56].try_into().unwrap())));
            } else {
                prop_assert_eq!(got, None);
            }
        }
    }
}
