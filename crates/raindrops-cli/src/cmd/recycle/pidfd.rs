//! Signals through pidfds: a worker is signalled only while it is the same child of the
//! master that was listed, never a process that reused its pid.

use std::io;
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use rustix::process::{Pid, PidfdFlags, pidfd_open, pidfd_send_signal};

use crate::procfs;

/// A pidfd of one worker: it refers to that process for as long as it is open, whatever
/// process gets the pid afterwards.
#[derive(Debug)]
pub(crate) struct Pidfd {
    fd: OwnedFd,
}

/// A test hook, for that use only: with this variable set, `recycle` logs `stopping before
/// opening a pidfd for worker PID` and stops itself (SIGSTOP) each time it is about to open a
/// worker's pidfd, after the read that listed the worker. A test then replaces the worker by
/// a process that takes its pid and continues it (SIGCONT): `tests/it/recycle_pid_reuse.rs`.
pub(crate) const STOP_BEFORE_PIDFD: &str = "RAINDROPS_RECYCLE_STOP_BEFORE_PIDFD";

impl Pidfd {
    /// Opens a pidfd for `pid`, then checks that `pid` is still the child of `master` that
    /// started at `start` (ticks after boot). The check comes after the opening: a process
    /// that matches then existed all along, so the pidfd refers to it; a pid that was reused
    /// in between (or whose process left the master) is refused with `Ok(None)`.
    pub(crate) fn open_child(pid: u32, start: u64, master: u32) -> io::Result<Option<Pidfd>> {
        if std::env::var_os(STOP_BEFORE_PIDFD).is_some() {
            tracing::warn!(pid, "recycle: stopping before opening a pidfd for worker {pid}");
            nix::sys::signal::raise(Signal::SIGSTOP)?;
        }
        let Some(raw) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
            return Ok(None);
        };
        let fd = match pidfd_open(raw, PidfdFlags::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::SRCH) => return Ok(None),
            Err(err) => return Err(io::Error::from(err)),
        };
        let same = procfs::stat(pid)?.is_some_and(|s| s.ppid == master && s.start == start);
        Ok(same.then_some(Pidfd { fd }))
    }

    /// Sends `signal`; `ESRCH` once the process has exited (even before it is reaped).
    pub(crate) fn send(&self, signal: Signal) -> nix::Result<()> {
        let signal = rustix::process::Signal::from_named_raw(signal as i32).ok_or(Errno::EINVAL)?;
        pidfd_send_signal(&self.fd, signal).map_err(|err| Errno::from_raw(err.raw_os_error()))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    #[test]
    fn only_the_listed_child_is_signalled() {
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let start = procfs::stat(child.id()).unwrap().unwrap().start;
        // Another start time: the pid was reused since it was listed.
        assert!(Pidfd::open_child(child.id(), start + 1, me).unwrap().is_none());
        // Another master: not one of its workers.
        assert!(Pidfd::open_child(child.id(), start, me + 1).unwrap().is_none());
        // Our own parent is not our child.
        let parent = nix::unistd::getppid().as_raw().unsigned_abs();
        let parent_start = procfs::stat(parent).unwrap().unwrap().start;
        assert!(Pidfd::open_child(parent, parent_start, me).unwrap().is_none());
        assert!(Pidfd::open_child(0x7fff_fff0, 0, me).unwrap().is_none());

        let pidfd = Pidfd::open_child(child.id(), start, me).unwrap().unwrap();
        pidfd.send(Signal::SIGTERM).unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(Signal::SIGTERM as i32));
        // Reaped: the pidfd still names that process, never whoever takes the pid next.
        assert_eq!(pidfd.send(Signal::SIGTERM), Err(Errno::ESRCH));
    }
}
