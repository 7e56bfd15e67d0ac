//! [`SockDiag`]: one `NETLINK_SOCK_DIAG` socket answering listener-stats queries, TCP over
//! `inet_diag` and Unix over `unix_diag` (or `/proc/net/unix`).

use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::inet_diag::{self, InetSock, Query};
use super::netlink::{self, Answer, Progress};
use super::queue_wait::{self, QueueWait, SockId};
use super::{ListenError, ListenStats, ListenerAddr, UnixSource, addr, unix_diag};

/// A reusable `NETLINK_SOCK_DIAG` socket answering listener-stats queries: TCP listeners over
/// the kernel's `inet_diag` (IPv4 and IPv6), Unix listeners over `unix_diag` (or
/// `/proc/net/unix`, see [`UnixSource`]), and mixed lists of both ([`stats`](Self::stats)).
///
/// Every TCP query form (one address, many, all listeners, queued-only) applies the same rule,
/// so it returns the same numbers for the same address. A wildcard address (`0.0.0.0:P`,
/// `[::]:P`) counts connections to every local address; a dual-stack `[::]:P` listener's IPv4
/// clients count for `[::]:P`. Results keep the order of the request, duplicates included.
///
/// Each query is one request per address family involved; the kernel filters sockets with a
/// bytecode program so only matching ones cross into userspace. A query with waits then
/// looks up the connections it saw queued, exactly, many to a datagram (see [`QueueWait`]).
///
/// # Example
///
/// ```no_run
/// use raindrops::SockDiag;
///
/// let mut diag = SockDiag::new()?;
/// for (addr, stats) in diag.tcp_all()? {
///     println!("{addr} active={} queued={}", stats.active, stats.queued);
/// }
/// // Queued only: the kernel skips the established-connections hash entirely.
/// let queued = diag.tcp_queued("127.0.0.1:8080".parse().unwrap())?;
/// # let _ = queued;
/// # Ok::<(), raindrops::ListenError>(())
/// ```
#[derive(Debug)]
pub struct SockDiag {
    fd: OwnedFd,
    request: Vec<u8>,
    reply: Vec<u8>,
    seq: u32,
    unix_source: UnixSource,
    /// Most exact lookups in one datagram ([`LOOKUP_BATCH`]; tests raise it to overflow).
    lookup_batch: usize,
}

/// Receive buffer: the kernel sizes dump datagrams to at most 32 KiB (`netlink_dump`).
const REPLY_LEN: usize = 64 * 1024;
/// Most exact lookups sent in one datagram. The kernel answers the whole datagram before we
/// read a reply, and drops the replies that do not fit the socket's receive buffer
/// (`rmem_default`, 208 KiB: a reply with `tcp_info` takes about 1.3 KiB of it), so
/// we then ask again for those, in batches half as large.
const LOOKUP_BATCH: usize = 128;
/// Batches in a row answered not at all before a query gives up (with `ENOBUFS`).
const LOOKUP_STALLS: u32 = 4;

impl SockDiag {
    /// Opens the netlink socket (`CLOEXEC`).
    ///
    /// # Errors
    ///
    /// [`ListenError::Unavailable`] when the kernel or a container sandbox does not allow it.
    ///
    /// ```no_run
    /// let diag = raindrops::SockDiag::new()?;
    /// # let _ = diag;
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn new() -> Result<Self, ListenError> {
        let fd = crate::sys::netlink::sock_diag_socket()
            .map_err(|source| ListenError::Unavailable { source })?;
        Ok(SockDiag {
            fd,
            request: Vec::with_capacity(256),
            reply: vec![0; REPLY_LEN],
            seq: 0,
            unix_source: UnixSource::default(),
            lookup_batch: LOOKUP_BATCH,
        })
    }

    /// Chooses where Unix socket stats come from (default [`UnixSource::Auto`]).
    ///
    /// ```no_run
    /// use raindrops::{SockDiag, UnixSource};
    /// let mut diag = SockDiag::new()?;
    /// diag.set_unix_source(UnixSource::ProcNetUnix);
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn set_unix_source(&mut self, source: UnixSource) {
        self.unix_source = source;
    }

    /// Where Unix socket stats come from (after an `Auto` fallback: `ProcNetUnix`).
    pub fn unix_source(&self) -> UnixSource {
        self.unix_source
    }

    /// Stats of one TCP listener address.
    ///
    /// ```no_run
    /// let mut diag = raindrops::SockDiag::new()?;
    /// let s = diag.tcp_stats("127.0.0.1:8080".parse().unwrap())?;
    /// println!("{} {}", s.active, s.queued);
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn tcp_stats(&mut self, addr: SocketAddr) -> Result<ListenStats, ListenError> {
        Ok(self.tcp_stats_many(&[addr])?[0])
    }

    /// Stats of several TCP listener addresses, in the same order (duplicates allowed).
    ///
    /// ```no_run
    /// let mut diag = raindrops::SockDiag::new()?;
    /// let addrs = ["0.0.0.0:80".parse().unwrap(), "[::]:80".parse().unwrap()];
    /// let stats = diag.tcp_stats_many(&addrs)?;
    /// assert_eq!(stats.len(), 2);
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn tcp_stats_many(
        &mut self,
        addrs: &[SocketAddr],
    ) -> Result<Vec<ListenStats>, ListenError> {
        Ok(self.tcp_wanted(addrs, inet_diag::STATES_ALL)?.0)
    }

    /// Queued connections of one TCP listener address, asking the kernel for `LISTEN` sockets
    /// only: no walk of the established hash, so it stays fast at any connection count.
    ///
    /// ```no_run
    /// let mut diag = raindrops::SockDiag::new()?;
    /// let queued = diag.tcp_queued("[::]:443".parse().unwrap())?;
    /// # let _ = queued;
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn tcp_queued(&mut self, addr: SocketAddr) -> Result<u32, ListenError> {
        Ok(self.tcp_queued_many(&[addr])?[0])
    }

    /// Queued connections of several TCP listener addresses, in order (`LISTEN` sockets only).
    ///
    /// ```no_run
    /// let mut diag = raindrops::SockDiag::new()?;
    /// let q = diag.tcp_queued_many(&["127.0.0.1:80".parse().unwrap()])?;
    /// assert_eq!(q.len(), 1);
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn tcp_queued_many(&mut self, addrs: &[SocketAddr]) -> Result<Vec<u32>, ListenError> {
        let (stats, _) = self.tcp_wanted(addrs, inet_diag::STATES_LISTEN)?;
        Ok(stats.into_iter().map(|s| s.queued).collect())
    }

    /// Every TCP listener on the host (IPv4 and IPv6), sorted by address.
    ///
    /// ```no_run
    /// let mut diag = raindrops::SockDiag::new()?;
    /// for (addr, s) in diag.tcp_all()? {
    ///     println!("{addr} {} {}", s.active, s.queued);
    /// }
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn tcp_all(&mut self) -> Result<Vec<(SocketAddr, ListenStats)>, ListenError> {
        Ok(self.tcp_all_states(inet_diag::STATES_ALL)?.finish())
    }

    /// Every TCP listener on the host with its queued count only (`active` is 0): the kernel
    /// skips the established hash.
    ///
    /// ```no_run
    /// let mut diag = raindrops::SockDiag::new()?;
    /// let all = diag.tcp_queued_all()?;
    /// # let _ = all;
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn tcp_queued_all(&mut self) -> Result<Vec<(SocketAddr, u32)>, ListenError> {
        let all = self.tcp_all_states(inet_diag::STATES_LISTEN)?.finish();
        Ok(all.into_iter().map(|(a, s)| (a, s.queued)).collect())
    }

    /// Stats of several TCP listener addresses with the ages of the connections waiting in
    /// their accept queues, in order (duplicates allowed): the stats' dump (one per address
    /// family), then exact lookups of the queued connections' `tcp_info`, many to a datagram.
    /// See [`QueueWait`] for what the ages mean.
    ///
    /// ```no_run
    /// let mut diag = raindrops::SockDiag::new()?;
    /// for (stats, wait) in diag.tcp_waits(&["[::]:443".parse().unwrap()])? {
    ///     println!("queued={} oldest={:?} ms", stats.queued, wait.oldest_ms());
    /// }
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn tcp_waits(
        &mut self,
        addrs: &[SocketAddr],
    ) -> Result<Vec<(ListenStats, QueueWait)>, ListenError> {
        let (stats, waits) = self.tcp_wanted(addrs, inet_diag::STATES_WAIT)?;
        Ok(stats.into_iter().zip(waits).collect())
    }

    /// Every TCP listener on the host with its stats and queue waits, sorted by address.
    ///
    /// ```no_run
    /// let mut diag = raindrops::SockDiag::new()?;
    /// for (addr, stats, wait) in diag.tcp_all_waits()? {
    ///     println!("{addr} {} {:?}", stats.queued, wait.oldest_ms());
    /// }
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn tcp_all_waits(
        &mut self,
    ) -> Result<Vec<(SocketAddr, ListenStats, QueueWait)>, ListenError> {
        Ok(self.tcp_all_states(inet_diag::STATES_WAIT)?.finish_waits())
    }

    /// Stats of a mixed list of TCP and Unix listeners with their queue waits, in order. A
    /// Unix listener's wait is `None`: `unix_diag` reports no per-connection times, so there
    /// is nothing to measure (not zero).
    ///
    /// ```no_run
    /// use raindrops::{SockDiag, ListenerAddr};
    /// let addrs: Vec<ListenerAddr> = vec!["0.0.0.0:80".parse()?, "/run/app.sock".parse()?];
    /// let got = SockDiag::new()?.waits(&addrs)?;
    /// assert!(got[1].1.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn waits(
        &mut self,
        addrs: &[ListenerAddr],
    ) -> Result<Vec<(ListenStats, Option<QueueWait>)>, ListenError> {
        let tcp: Vec<SocketAddr> = addrs.iter().filter_map(ListenerAddr::tcp).collect();
        let unix: Vec<&Path> = addrs.iter().filter_map(ListenerAddr::unix).collect();
        let mut tcp = self.tcp_waits(&tcp)?.into_iter();
        let mut unix = self.unix_stats_many(&unix)?.into_iter();
        Ok(addrs
            .iter()
            .map(|a| match a {
                ListenerAddr::Tcp(_) => tcp.next().map(|(s, w)| (s, Some(w))),
                ListenerAddr::Unix(_) => unix.next().map(|s| (s, None)),
            })
            .map(Option::unwrap_or_default)
            .collect())
    }

    /// Stats of one Unix listener path (symlinks resolved).
    ///
    /// ```no_run
    /// let mut diag = raindrops::SockDiag::new()?;
    /// let s = diag.unix_stats("/run/app.sock")?;
    /// # let _ = s;
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn unix_stats(&mut self, path: impl AsRef<Path>) -> Result<ListenStats, ListenError> {
        Ok(self.unix_stats_many(&[path.as_ref()])?[0])
    }

    /// Stats of several Unix listener paths, in order.
    ///
    /// ```no_run
    /// let mut diag = raindrops::SockDiag::new()?;
    /// let s = diag.unix_stats_many(&["/run/a.sock", "/run/b.sock"])?;
    /// assert_eq!(s.len(), 2);
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn unix_stats_many<P: AsRef<Path>>(
        &mut self,
        paths: &[P],
    ) -> Result<Vec<ListenStats>, ListenError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let mut wanted = unix_diag::Wanted::new(paths);
        self.unix_walk(&mut |sock| wanted.add(sock))?;
        Ok(wanted.stats)
    }

    /// Every named Unix stream listener on the host, sorted by path (abstract names start
    /// with `@`).
    ///
    /// ```no_run
    /// let mut diag = raindrops::SockDiag::new()?;
    /// for (path, s) in diag.unix_all()? {
    ///     println!("{} {} {}", path.display(), s.active, s.queued);
    /// }
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn unix_all(&mut self) -> Result<Vec<(PathBuf, ListenStats)>, ListenError> {
        let mut all = unix_diag::All::default();
        self.unix_walk(&mut |sock| all.add(sock))?;
        Ok(all.finish())
    }

    /// Stats of a mixed list of TCP and Unix listeners, in order: one request per address
    /// family present.
    ///
    /// ```no_run
    /// use raindrops::{SockDiag, ListenerAddr};
    /// let addrs: Vec<ListenerAddr> = vec!["0.0.0.0:80".parse()?, "/run/app.sock".parse()?];
    /// let stats = SockDiag::new()?.stats(&addrs)?;
    /// assert_eq!(stats.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&mut self, addrs: &[ListenerAddr]) -> Result<Vec<ListenStats>, ListenError> {
        let tcp: Vec<SocketAddr> = addrs.iter().filter_map(ListenerAddr::tcp).collect();
        let unix: Vec<&Path> = addrs.iter().filter_map(ListenerAddr::unix).collect();
        let mut tcp = self.tcp_stats_many(&tcp)?.into_iter();
        let mut unix = self.unix_stats_many(&unix)?.into_iter();
        Ok(addrs
            .iter()
            .map(|a| match a {
                ListenerAddr::Tcp(_) => tcp.next(),
                ListenerAddr::Unix(_) => unix.next(),
            })
            .map(Option::unwrap_or_default)
            .collect())
    }

    /// The rule's numbers for `addrs`; with `STATES_WAIT`, the ages of their queued
    /// connections too (looked up after the dump).
    fn tcp_wanted(
        &mut self,
        addrs: &[SocketAddr],
        states: u32,
    ) -> Result<(Vec<ListenStats>, Vec<QueueWait>), ListenError> {
        let addrs: Vec<SocketAddr> = addrs.iter().map(|a| addr::normalize(*a)).collect();
        let mut wanted = inet_diag::Wanted::new(&addrs);
        let mut queued = Vec::new();
        // Only a waits query looks its queued sockets up.
        let waits = states == inet_diag::STATES_WAIT;
        for (family, v4) in [(inet_diag::AF_INET, true), (inet_diag::AF_INET6, false)] {
            let of_family: Vec<SocketAddr> =
                addrs.iter().filter(|a| a.is_ipv4() == v4).copied().collect();
            if !of_family.is_empty() {
                self.tcp_dump(Query { family, states }, Some(&of_family), &mut |sock| {
                    wanted.add(sock);
                    if waits {
                        queued.extend(sock.id.filter(|_| wanted.covers(sock.local)));
                    }
                })?;
            }
        }
        if waits {
            self.lookup_queued(&queued, &mut |sock| wanted.add(sock))?;
        }
        Ok(wanted.finish())
    }

    /// Every listener's numbers; with `STATES_WAIT`, the ages of their queued connections too.
    fn tcp_all_states(&mut self, states: u32) -> Result<inet_diag::All, ListenError> {
        let mut all = inet_diag::All::default();
        let mut queued = Vec::new();
        let waits = states == inet_diag::STATES_WAIT;
        for family in [inet_diag::AF_INET, inet_diag::AF_INET6] {
            self.tcp_dump(Query { family, states }, None, &mut |sock| {
                all.add(sock);
                if waits {
                    queued.extend(sock.id.map(|id| (sock.local, id)));
                }
            })?;
        }
        if waits {
            // Listeners come first in each dump, but a queued connection may have outlived
            // its listener: look up only those something will count.
            let queued: Vec<SockId> =
                queued.into_iter().filter(|(local, _)| all.covers(*local)).map(|q| q.1).collect();
            self.lookup_queued(&queued, &mut |sock| all.add(sock))?;
        }
        Ok(all)
    }

    /// One dump of TCP sockets of `query.family`, filtered to the local addresses `filter`.
    pub(crate) fn tcp_dump(
        &mut self,
        query: Query,
        filter: Option<&[SocketAddr]>,
        visit: &mut dyn FnMut(&InetSock),
    ) -> Result<(), ListenError> {
        self.seq = self.seq.wrapping_add(1);
        inet_diag::encode_request(&mut self.request, self.seq, query, filter);
        self.dump(family_name(query.family == inet_diag::AF_INET), &mut |payload| {
            if let Some(sock) = inet_diag::parse_msg(payload)? {
                visit(&sock);
            }
            Ok(())
        })
    }

    /// Asks the kernel again, exactly, for each of `ids` (connections a dump saw queued)
    /// with its `tcp_info`, and gives `add` those still queued, with their ages. Batches of
    /// at most [`LOOKUP_BATCH`] requests; the replies a full receive buffer dropped are asked
    /// for again in smaller batches, so any number of sockets takes bounded memory.
    pub(crate) fn lookup_queued(
        &mut self,
        ids: &[SockId],
        add: &mut dyn FnMut(&InetSock),
    ) -> Result<(), ListenError> {
        let mut rest = ids.to_vec();
        let (mut batch, mut stalls) = (self.lookup_batch, 0);
        while !rest.is_empty() {
            let n = batch.min(rest.len());
            let answered = self.send_lookups(&rest[..n], add)?;
            let lost: Vec<SockId> =
                rest[..n].iter().zip(&answered).filter(|(_, a)| !**a).map(|(id, _)| *id).collect();
            stalls = if lost.len() == n { stalls + 1 } else { 0 };
            if stalls > LOOKUP_STALLS {
                return Err(netlink::kernel_error(LOOKUP, libc::ENOBUFS));
            }
            if !lost.is_empty() {
                batch = (batch / 2).max(1);
            }
            rest.splice(..n, lost);
        }
        Ok(())
    }

    /// Sends one datagram of exact lookups and reads their answers; which were answered.
    fn send_lookups(
        &mut self,
        ids: &[SockId],
        add: &mut dyn FnMut(&InetSock),
    ) -> Result<Vec<bool>, ListenError> {
        let base = self.seq.wrapping_add(1);
        self.seq = self.seq.wrapping_add(ids.len() as u32);
        self.request.clear();
        for (i, id) in ids.iter().enumerate() {
            queue_wait::encode_lookup(&mut self.request, base.wrapping_add(i as u32), id);
        }
        let fd = self.fd.as_fd();
        crate::sys::netlink::send(fd, &self.request).map_err(ListenError::Io)?;
        let mut answered = vec![false; ids.len()];
        let mut left = ids.len();
        while left > 0 {
            // The kernel answered every request before `send` returned: an empty queue means
            // the rest were dropped (reported once by ENOBUFS).
            let n = match crate::sys::netlink::try_recv(fd, &mut self.reply) {
                Ok(Some(n)) => self.datagram_len(n)?,
                Ok(None) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => continue,
                Err(e) => return Err(ListenError::Io(e)),
            };
            netlink::answers(&self.reply[..n], |seq, answer| {
                // Another sequence number: a leftover of an abandoned query.
                let Some(slot) = answered.get_mut(seq.wrapping_sub(base) as usize) else {
                    return Ok(());
                };
                if std::mem::replace(slot, true) {
                    return Ok(());
                }
                left -= 1;
                match answer {
                    Answer::Found(payload) => {
                        // Accepted meanwhile (an inode now), or no longer open: not waiting.
                        let sock = inet_diag::parse_msg(payload)?;
                        if let Some(sock) = sock.filter(|s| s.is_queued() && s.age_ms.is_some()) {
                            add(&sock);
                        }
                        Ok(())
                    }
                    // Gone since the dump (accepted and closed, reset), or a new socket on its
                    // 4-tuple (another cookie).
                    Answer::Error(libc::ENOENT) => Ok(()),
                    Answer::Error(errno) => Err(netlink::kernel_error(LOOKUP, errno)),
                }
            })?;
        }
        Ok(answered)
    }

    fn unix_walk(
        &mut self,
        visit: &mut dyn FnMut(&unix_diag::UnixSock<'_>),
    ) -> Result<(), ListenError> {
        if self.unix_source != UnixSource::ProcNetUnix {
            self.seq = self.seq.wrapping_add(1);
            unix_diag::encode_request(&mut self.request, self.seq);
            let res = self.dump("Unix sockets", &mut |payload| {
                if let Some(sock) = unix_diag::parse_msg(payload)? {
                    visit(&sock);
                }
                Ok(())
            });
            match res {
                Ok(()) => return Ok(()),
                // No unix_diag handler (module missing): fall back to /proc for good. A
                // partial dump cannot have happened: the kernel refuses before the first reply.
                Err(ListenError::Kernel { source, .. })
                    if self.unix_source == UnixSource::Auto
                        && matches!(
                            source.raw_os_error(),
                            Some(libc::ENOENT | libc::EOPNOTSUPP | libc::EINVAL)
                        ) =>
                {
                    self.unix_source = UnixSource::ProcNetUnix;
                }
                Err(e) => return Err(e),
            }
        }
        unix_diag::read_proc(visit)
    }

    /// Sends `self.request` and feeds each reply payload to `visit` until the dump is done.
    fn dump(
        &mut self,
        what: &'static str,
        visit: &mut dyn FnMut(&[u8]) -> Result<(), ListenError>,
    ) -> Result<(), ListenError> {
        let fd = self.fd.as_fd();
        crate::sys::netlink::send(fd, &self.request).map_err(ListenError::Io)?;
        loop {
            let n = crate::sys::netlink::recv(fd, &mut self.reply).map_err(ListenError::Io)?;
            let n = self.datagram_len(n)?;
            let seq = self.seq;
            if netlink::walk(&self.reply[..n], seq, what, &mut *visit)? == Progress::Done {
                return Ok(());
            }
        }
    }
}

impl SockDiag {
    /// Sets the most exact lookups sent in one datagram.
    #[cfg(test)]
    pub(crate) fn set_lookup_batch(&mut self, n: usize) {
        self.lookup_batch = n.max(1);
    }

    /// `n`, the length `recv` reported, checked: not empty, not cut.
    fn datagram_len(&self, n: usize) -> Result<usize, ListenError> {
        if n > self.reply.len() {
            return Err(ListenError::Malformed { what: "datagram larger than 64 KiB" });
        }
        if n == 0 {
            return Err(ListenError::Malformed { what: "empty datagram" });
        }
        Ok(n)
    }
}

impl AsFd for SockDiag {
    /// The netlink socket, e.g. to check its flags; reading from it would desynchronise
    /// queries.
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// What an exact lookup's error names.
const LOOKUP: &str = "queued TCP socket";

fn family_name(v4: bool) -> &'static str {
    if v4 { "TCP over IPv4" } else { "TCP over IPv6" }
}
