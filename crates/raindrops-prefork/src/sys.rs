//! The calls that need `unsafe`: `fork`, adopting a descriptor inherited by number, and
//! editing the environment. Each is sound only while the process has a single thread, which
//! every function here checks (in `/proc/self/task`) right before acting, instead of trusting
//! its caller.

use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::unistd::{ForkResult, Pid};

/// Which side of a `fork` this process is on.
#[derive(Debug)]
pub(crate) enum Forked {
    /// The new process.
    Child,
    /// The caller, with the child's pid.
    Parent(Pid),
}

/// How many threads this process has.
fn threads() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// Fails unless this process has exactly one thread.
fn single_threaded(what: &str) -> io::Result<()> {
    match threads()? {
        1 => Ok(()),
        n => Err(io::Error::other(format!(
            "{what} needs a single-threaded process, this one has {n} threads \
             (start the supervisor before any runtime or thread)"
        ))),
    }
}

/// Forks, after checking that this process has one thread.
///
/// The child may then do anything a fresh process may: allocate, take locks, start threads
/// and a runtime, since no other thread can have held a lock when the address space was copied.
pub(crate) fn fork() -> io::Result<Forked> {
    single_threaded("fork")?;
    // SAFETY: the check above found a single thread (the master starts no thread and no
    // runtime, and nothing else runs between the check and the call), so no lock, allocator
    // state or runtime of another thread is copied half-updated into the child.
    match unsafe { nix::unistd::fork() }? {
        ForkResult::Child => Ok(Forked::Child),
        ForkResult::Parent { child } => Ok(Forked::Parent(child)),
    }
}

/// Takes ownership of descriptor `fd`, inherited from the service manager (systemd's
/// `LISTEN_FDS`), after checking it is open. The caller must claim each number once, and
/// clear the variables that announced them (see [`remove_env`]).
pub(crate) fn adopt_fd(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::other(format!("descriptor {fd} is negative")));
    }
    // SAFETY: `fd` is non-negative; `fcntl(F_GETFD)` on a number that is not open just fails
    // with EBADF, and the borrow ends with the call.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    nix::fcntl::fcntl(borrowed, nix::fcntl::FcntlArg::F_GETFD)
        .map_err(|err| io::Error::other(format!("inherited descriptor {fd}: {err}")))?;
    // SAFETY: `fd` is open (checked above), it was handed to this process by the socket
    // activation protocol, and the caller claims each number once and removes the variables
    // announcing it, so nothing else in the process owns or will close it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Removes environment variables, after checking that this process has one thread.
pub(crate) fn remove_env(keys: &[&str]) -> io::Result<()> {
    single_threaded("changing the environment")?;
    for key in keys {
        // SAFETY: the process has a single thread (checked above), so no other thread reads
        // the environment while it changes.
        unsafe { std::env::remove_var(key) };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn adopt_refuses_closed_and_negative_descriptors() {
        assert!(super::adopt_fd(-1).is_err());
        // A high number nobody opened.
        let err = super::adopt_fd(1_000_000).unwrap_err();
        assert!(err.to_string().contains("1000000"), "{err}");
    }

    #[test]
    fn the_test_harness_is_not_single_threaded() {
        // libtest runs this test on a thread of its own: fork must refuse.
        if super::threads().unwrap() > 1 {
            let err = super::fork().unwrap_err();
            assert!(err.to_string().contains("single-threaded"), "{err}");
        }
    }
}
