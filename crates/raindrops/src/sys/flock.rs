//! `flock(2)`: an exclusive, non-blocking lock on a whole file.
//!
//! There is deliberately no unlock: a `flock` lock belongs to the open file description, which
//! forked children share, so `LOCK_UN` in any one of them would release it for all. The lock
//! goes away when the last descriptor of the description is closed (every process that held it
//! has closed it or exited), which is exactly "no live process uses the file".

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Takes `flock(fd, LOCK_EX | LOCK_NB)`: `Ok(true)` when taken (or already held through this
/// description), `Ok(false)` when another description holds a lock on the file.
pub(crate) fn try_lock_exclusive(fd: BorrowedFd<'_>) -> io::Result<bool> {
    loop {
        // SAFETY: `fd` is a live fd borrowed for this call; `flock` reads no memory of ours.
        match syscall!(flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB)) {
            Ok(_) => return Ok(true),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
}
