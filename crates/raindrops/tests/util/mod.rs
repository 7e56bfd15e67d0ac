//! Helpers shared by the integration tests: forking children that report through exit codes.
#![allow(dead_code)]

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// Forks a child that runs `body` and exits with its return value (0 = success).
///
/// The child leaves with `_exit`, skipping the parent's atexit handlers and the test harness.
pub(crate) fn spawn(body: impl FnOnce() -> i32) -> Pid {
    // SAFETY: the child only touches atomics in shared memory, the `body`'s own data and then
    // calls `_exit`; it takes no lock another test thread could hold at the time of the fork.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(101);
            // SAFETY: `_exit` is async-signal-safe and ends the process at once.
            unsafe { nix::libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    }
}

/// Waits for `pid` and returns its exit code (panics if it was killed by a signal).
pub(crate) fn wait(pid: Pid) -> i32 {
    match waitpid(pid, None).expect("waitpid") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("child {pid} did not exit normally: {other:?}"),
    }
}
