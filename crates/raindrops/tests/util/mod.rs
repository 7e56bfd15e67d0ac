//! Helpers shared by the integration tests: forking children that report through exit codes,
//! loopback listeners, polling for a condition.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use socket2::{Domain, Socket, Type};

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

/// A TCP listener on `addr` (backlog 128), `SO_REUSEPORT` when asked; `[::]` is dual-stack.
pub(crate) fn listen(addr: &str, reuse_port: bool) -> TcpListener {
    let addr: SocketAddr = addr.parse().unwrap();
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
    if addr.is_ipv6() {
        sock.set_only_v6(false).unwrap(); // dual-stack [::]
    }
    if reuse_port {
        nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::ReusePort, &true).unwrap();
    }
    sock.bind(&addr.into()).unwrap();
    sock.listen(128).unwrap();
    sock.into()
}

/// Polls `get` until it returns `want`, for up to 30 s: a client's last ACK and its FIN cross
/// loopback on their own time, after `connect` or `drop` returned.
pub(crate) fn poll<T: PartialEq + std::fmt::Debug>(
    what: &str,
    want: T,
    mut get: impl FnMut() -> T,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = get();
        if got == want || Instant::now() > deadline {
            assert_eq!(got, want, "{what}");
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
