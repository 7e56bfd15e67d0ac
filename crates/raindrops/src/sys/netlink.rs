//! An `AF_NETLINK` socket speaking `NETLINK_SOCK_DIAG`, moving raw bytes only.
//!
//! Message encoding and decoding are safe code in `listen/`; this file only owns the fd.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Opens a `NETLINK_SOCK_DIAG` socket, `CLOEXEC` from the start.
pub(crate) fn sock_diag_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers; any int arguments are acceptable to it.
    let fd = syscall!(socket(
        libc::AF_NETLINK,
        libc::SOCK_RAW | libc::SOCK_CLOEXEC,
        libc::NETLINK_SOCK_DIAG
    ))?;
    // SAFETY: `fd` was just returned by socket(2), is open, and nothing else owns it; the
    // `OwnedFd` closes it on every later error path.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sends one datagram to the kernel (netlink port 0: an unconnected netlink socket's default
/// destination), retrying on `EINTR`.
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `fd` is a live fd borrowed for this call; `buf.as_ptr()` is valid for
        // `buf.len()` bytes of reads, and send(2) reads no more than that.
        match syscall!(send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0)) {
            // `n` is non-negative here (only -1 is an error), so the cast cannot wrap.
            Ok(n) => return Ok(n as usize),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Receives one datagram into `buf`, retrying on `EINTR`.
///
/// Returns the datagram's full length (`MSG_TRUNC`): a value larger than `buf.len()` means
/// the datagram was cut, which the caller must treat as an error.
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    recv_flags(fd, buf, libc::MSG_TRUNC)
}

/// Like [`recv`], but returns `Ok(None)` at once when no datagram is queued
/// (`MSG_DONTWAIT`): the replies to a non-dump request are queued before `send` returns, so
/// an empty queue means the rest were dropped.
pub(crate) fn try_recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Option<usize>> {
    match recv_flags(fd, buf, libc::MSG_TRUNC | libc::MSG_DONTWAIT) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

fn recv_flags(fd: BorrowedFd<'_>, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    loop {
        // SAFETY: `fd` is a live fd borrowed for this call; `buf.as_mut_ptr()` is valid for
        // `buf.len()` bytes of writes and recv(2) writes no more than that (with MSG_TRUNC
        // it only *reports* a larger length).
        match syscall!(recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags)) {
            // Non-negative, see `send`.
            Ok(n) => return Ok(n as usize),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}
