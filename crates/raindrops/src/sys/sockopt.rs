//! `getsockopt(2)` into a byte buffer, for structs that grow with the kernel (`tcp_info`), and
//! `TCP_DEFER_ACCEPT`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Reads `getsockopt(fd, IPPROTO_TCP, TCP_INFO)` into `buf`; returns how many bytes the kernel
/// filled in (older kernels fill fewer than newer ones; the kernel never writes past the
/// length we pass).
pub(crate) fn tcp_info(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // The buffer is at most a few hundred bytes; saturate rather than wrap if it is not.
    let mut len = libc::socklen_t::try_from(buf.len()).unwrap_or(libc::socklen_t::MAX);
    // SAFETY: `fd` is a live fd borrowed for this call; `buf.as_mut_ptr()` is valid for `len`
    // bytes of writes (len <= buf.len()); `&mut len` is a valid, aligned socklen_t the kernel
    // updates with the number of bytes written.
    syscall!(getsockopt(
        fd.as_raw_fd(),
        libc::IPPROTO_TCP,
        libc::TCP_INFO,
        buf.as_mut_ptr().cast(),
        &mut len
    ))?;
    Ok((len as usize).min(buf.len()))
}

/// `setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds)`.
pub(crate) fn set_tcp_defer_accept(fd: BorrowedFd<'_>, seconds: libc::c_int) -> io::Result<()> {
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is a live fd borrowed for this call; `&seconds` points to a valid c_int of
    // `len` bytes that the kernel only reads.
    syscall!(setsockopt(
        fd.as_raw_fd(),
        libc::IPPROTO_TCP,
        libc::TCP_DEFER_ACCEPT,
        (&raw const seconds).cast(),
        len
    ))?;
    Ok(())
}

/// `getsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT)`: the timeout in seconds, as the kernel
/// rounded it.
pub(crate) fn tcp_defer_accept(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    let mut seconds: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is a live fd borrowed for this call; `&mut seconds` is a valid, aligned
    // c_int of `len` bytes, and `&mut len` a valid socklen_t the kernel updates.
    syscall!(getsockopt(
        fd.as_raw_fd(),
        libc::IPPROTO_TCP,
        libc::TCP_DEFER_ACCEPT,
        (&raw mut seconds).cast(),
        &mut len
    ))?;
    Ok(seconds)
}
