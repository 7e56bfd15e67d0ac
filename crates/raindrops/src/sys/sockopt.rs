//! `getsockopt(2)` into a byte buffer, for structs that grow with the kernel (`tcp_info`).

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
