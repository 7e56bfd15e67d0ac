//! O(1) accept-queue stats of a listener this process owns: `getsockopt(TCP_INFO)` on the
//! listening fd. For a socket in `LISTEN`, the kernel reports the accept-queue length in
//! `tcpi_unacked` and the `listen()` backlog in `tcpi_sacked` (`tcp_get_info` in
//! `net/ipv4/tcp.c`). No netlink, no walk of any table: one syscall at any connection count.

use std::os::fd::AsFd;

use super::ListenError;

/// The accept queue of one listening socket; see [`local_queue`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LocalQueue {
    /// Connections waiting for `accept()` on this very socket (not its `SO_REUSEPORT`
    /// siblings).
    pub queued: u32,
    /// The backlog the socket listens with (after the kernel's `somaxconn` cap).
    pub backlog: u32,
}

/// The accept queue of a TCP listener this process owns, in one `getsockopt` call.
///
/// Active connections are not known to the kernel per listener at this cost; a server counts
/// them itself as it accepts and closes (the HTTP middleware does).
///
/// # Errors
///
/// [`ListenError::NotListening`] when the socket is TCP but not listening; [`ListenError::Io`]
/// when it is not a TCP socket at all.
///
/// # Example
///
/// ```no_run
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let q = raindrops::local_queue(&listener)?;
/// assert_eq!(q.queued, 0);
/// assert_eq!(q.backlog, 128);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn local_queue(listener: &impl AsFd) -> Result<LocalQueue, ListenError> {
    // The first 32 bytes hold state (byte 0), unacked (24..28) and sacked (28..32); asking for
    // less than the whole struct keeps the copy small.
    let mut buf = [0u8; 32];
    let len = crate::sys::sockopt::tcp_info(listener.as_fd(), &mut buf).map_err(ListenError::Io)?;
    let info = crate::TcpInfo::from_bytes(&buf[..len]);
    if len < buf.len() || info.state != super::inet_diag::TCP_LISTEN {
        return Err(ListenError::NotListening { state: info.state });
    }
    Ok(LocalQueue { queued: info.unacked, backlog: info.sacked })
}
