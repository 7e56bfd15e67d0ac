//! The calls that need `unsafe`: `fork`, adopting a descriptor inherited by number, editing
//! the environment, and placing descriptors at fixed numbers in a child between `fork` and
//! `exec`. `fork` and the environment are sound only while the process has a single thread,
//! which those functions check (in `/proc/self/task`) right before acting, instead of trusting
//! their caller; the child of [`spawn_with_fds`] makes only async-signal-safe calls, which
//! is sound with any number of threads.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};

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

/// Spawns `program` with `args` and `env`, with `fds` placed at 3, 4, ... (close-on-exec
/// cleared) and `LISTEN_PID` set to the child's own pid.
///
/// The child runs only async-signal-safe calls between `fork` and `execve` (`fcntl`, `dup2`,
/// `getpid`, `execve`) and writes only into buffers allocated before the fork, so it is sound
/// in a multi-threaded process.
pub(crate) fn spawn_with_fds(
    program: &Path,
    args: Vec<OsString>,
    env: Vec<OsString>,
    fds: &[RawFd],
) -> io::Result<Child> {
    let cstring = |bytes: Vec<u8>| {
        CString::new(bytes).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "an argument or variable contains NUL")
        })
    };
    let path = cstring(program.as_os_str().to_owned().into_vec())?;
    let args = args.into_iter().map(|a| cstring(a.into_vec())).collect::<io::Result<Vec<_>>>()?;
    let env = env.into_iter().map(|e| cstring(e.into_vec())).collect::<io::Result<Vec<_>>>()?;
    // Filled in the child: `LISTEN_PID=` then up to 10 digits and a NUL.
    let mut pid_var = b"LISTEN_PID=\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
    // Pointer tables as integers (raw pointers are not `Send`), filled in the child.
    let mut argv = vec![0usize; args.len() + 1];
    let mut envp = vec![0usize; env.len() + 2];
    let sources = fds.to_vec();
    let mut temporary = vec![-1; fds.len()];
    let first_free = RawFd::try_from(3 + fds.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many descriptors"))?;

    let mut command = Command::new(program);
    let child_setup = move || -> io::Result<()> {
        // Move every source out of 3..first_free first, so no dup2 clobbers a later source.
        for (tmp, &source) in temporary.iter_mut().zip(&sources) {
            // SAFETY: async-signal-safe; duplicates an fd this process holds open.
            *tmp = unsafe { nix::libc::fcntl(source, nix::libc::F_DUPFD_CLOEXEC, first_free) };
            if *tmp == -1 {
                return Err(io::Error::last_os_error());
            }
        }
        for (target, &tmp) in (3..).zip(&temporary) {
            // SAFETY: async-signal-safe; `dup2` gives `target` a copy of `tmp` without
            // FD_CLOEXEC, so it survives `execve` (the temporaries do not).
            if unsafe { nix::libc::dup2(tmp, target) } == -1 {
                return Err(io::Error::last_os_error());
            }
        }
        // SAFETY: async-signal-safe, cannot fail.
        let pid = unsafe { nix::libc::getpid() };
        write_decimal(&mut pid_var[11..], pid.unsigned_abs());
        for (slot, arg) in argv.iter_mut().zip(&args) {
            *slot = arg.as_ptr() as usize;
        }
        envp[0] = pid_var.as_ptr() as usize;
        for (slot, var) in envp[1..].iter_mut().zip(&env) {
            *slot = var.as_ptr() as usize;
        }
        // SAFETY: `path`, every argument and variable are NUL-terminated strings owned by this
        // closure; `argv` and `envp` hold their addresses (pointer-sized integers) and end with
        // a null entry; `execve` is async-signal-safe and returns only on failure.
        unsafe {
            nix::libc::execve(
                path.as_ptr(),
                argv.as_ptr().cast::<*const nix::libc::c_char>(),
                envp.as_ptr().cast::<*const nix::libc::c_char>(),
            )
        };
        Err(io::Error::last_os_error())
    };
    // SAFETY: the closure runs in the forked child before exec and only makes the
    // async-signal-safe calls listed above, touching memory allocated before the fork.
    unsafe { command.pre_exec(child_setup) };
    command.spawn()
}

/// Writes `n` in decimal followed by a NUL into `buf` (11 bytes suffice for a `u32`).
fn write_decimal(buf: &mut [u8], n: u32) {
    let mut digits = [0u8; 10];
    let mut len = 0;
    let mut rest = n;
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for (out, digit) in buf.iter_mut().zip(digits[..len].iter().rev()) {
        *out = *digit;
    }
    if let Some(end) = buf.get_mut(len) {
        *end = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 12345, u32::MAX] {
            let mut buf = [0xffu8; 11];
            write_decimal(&mut buf, n);
            let end = buf.iter().position(|&b| b == 0).unwrap();
            assert_eq!(std::str::from_utf8(&buf[..end]).unwrap(), n.to_string());
        }
    }

    #[test]
    fn adopt_refuses_closed_and_negative_descriptors() {
        assert!(adopt_fd(-1).is_err());
        // A high number nobody opened.
        let err = adopt_fd(1_000_000).unwrap_err();
        assert!(err.to_string().contains("1000000"), "{err}");
    }

    #[test]
    fn the_test_harness_is_not_single_threaded() {
        // libtest runs this test on a thread of its own: fork must refuse.
        if threads().unwrap() > 1 {
            let err = fork().unwrap_err();
            assert!(err.to_string().contains("single-threaded"), "{err}");
        }
    }
}
