//! The crate's only `unsafe` code: taking ownership of inherited file descriptors, and placing
//! descriptors at fixed numbers in a child between `fork` and `exec`.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};

/// Takes ownership of `fd`, inherited from the process that executed this one, and marks it
/// close-on-exec so it does not leak into this process's own children.
///
/// The caller must call this at most once per descriptor (the `LISTEN_FDS` reader guards that
/// with a flag), so that no other owner of `fd` exists in this process.
pub(crate) fn claim_inherited(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD only reads the descriptor's flags; an invalid fd answers EBADF.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is open (checked above), was inherited across exec under the LISTEN_FDS
    // protocol, and nothing else in this process owns it: the caller claims each fd once.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    Ok(owned)
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
            *tmp = unsafe { libc::fcntl(source, libc::F_DUPFD_CLOEXEC, first_free) };
            if *tmp == -1 {
                return Err(io::Error::last_os_error());
            }
        }
        for (target, &tmp) in (3..).zip(&temporary) {
            // SAFETY: async-signal-safe; `dup2` gives `target` a copy of `tmp` without
            // FD_CLOEXEC, so it survives `execve` (the temporaries do not).
            if unsafe { libc::dup2(tmp, target) } == -1 {
                return Err(io::Error::last_os_error());
            }
        }
        // SAFETY: async-signal-safe, cannot fail.
        let pid = unsafe { libc::getpid() };
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
            libc::execve(
                path.as_ptr(),
                argv.as_ptr().cast::<*const libc::c_char>(),
                envp.as_ptr().cast::<*const libc::c_char>(),
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
    fn claiming_a_closed_fd_fails() {
        // Far above anything a test process has open.
        assert_eq!(claim_inherited(65_000).unwrap_err().raw_os_error(), Some(libc::EBADF));
    }
}
