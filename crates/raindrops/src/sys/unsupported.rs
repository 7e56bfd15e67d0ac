//! Stand-ins for platforms without the Linux facilities: every call fails with
//! `io::ErrorKind::Unsupported`, never a panic.

#![allow(dead_code)]

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

fn unsupported() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "only available on Linux")
}

pub(crate) fn sock_diag_socket() -> io::Result<OwnedFd> {
    Err(unsupported())
}

pub(crate) fn send(_fd: BorrowedFd<'_>, _buf: &[u8]) -> io::Result<usize> {
    Err(unsupported())
}

pub(crate) fn recv(_fd: BorrowedFd<'_>, _buf: &mut [u8]) -> io::Result<usize> {
    Err(unsupported())
}

pub(crate) fn try_recv(_fd: BorrowedFd<'_>, _buf: &mut [u8]) -> io::Result<Option<usize>> {
    Err(unsupported())
}

pub(crate) fn tcp_info(_fd: BorrowedFd<'_>, _buf: &mut [u8]) -> io::Result<usize> {
    Err(unsupported())
}

pub(crate) fn set_tcp_defer_accept(_fd: BorrowedFd<'_>, _seconds: i32) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn tcp_defer_accept(_fd: BorrowedFd<'_>) -> io::Result<i32> {
    Err(unsupported())
}
