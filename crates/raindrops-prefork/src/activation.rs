//! Descriptors across `exec`, by systemd's socket-activation protocol: the one reader of
//! `LISTEN_PID`/`LISTEN_FDS` ([`Inherited::take`], which [`Listener::from_env`] and the
//! killer's re-exec use) and the one writer ([`spawn_with_fds`], which places descriptors at
//! 3, 4, ... in a new program).

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Listener, PreforkError, sys};

/// The first descriptor passed under `LISTEN_FDS` (`SD_LISTEN_FDS_START`).
pub const LISTEN_FDS_START: RawFd = 3;

/// The most descriptors `LISTEN_FDS` may announce.
const MAX_LISTEN_FDS: RawFd = 4096;

/// Whether this process took its inherited descriptors already.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// What the process that executed this one handed over: the listening sockets of
/// `LISTEN_FDS` and the descriptors named by other variables.
///
/// ```no_run
/// use raindrops_prefork::activation::Inherited;
///
/// if let Some(inherited) = Inherited::take(&["MY_PIPE_FD"])? {
///     println!("{} listeners, pipe: {:?}", inherited.listeners.len(), inherited.named[0]);
/// }
/// # Ok::<(), raindrops_prefork::PreforkError>(())
/// ```
#[derive(Debug)]
pub struct Inherited {
    /// The listeners at descriptors 3 to `3 + LISTEN_FDS - 1`, in order (non-blocking,
    /// close-on-exec).
    pub listeners: Vec<Listener>,
    /// One entry per variable asked for, in order: the descriptor it names, if set.
    pub named: Vec<Option<OwnedFd>>,
}

impl Inherited {
    /// Takes the descriptors handed to this process, if `LISTEN_PID` names it: the listeners
    /// of `LISTEN_FDS`, and the descriptor each variable of `named` holds the number of
    /// (close-on-exec). The variables stay set (a multi-threaded process cannot change its
    /// environment soundly); a second call fails instead, so no descriptor gets two owners.
    ///
    /// # Errors
    ///
    /// [`PreforkError::Activation`], naming the variable, when one is malformed, when a
    /// descriptor is closed or (under `LISTEN_FDS`) not a listening stream socket, or when the
    /// descriptors were taken already.
    ///
    /// ```
    /// use raindrops_prefork::activation::Inherited;
    /// // This doctest was not socket-activated.
    /// # if std::env::var_os("LISTEN_PID").is_none() {
    /// assert!(Inherited::take(&[])?.is_none());
    /// # }
    /// # Ok::<(), raindrops_prefork::PreforkError>(())
    /// ```
    pub fn take(named: &[&str]) -> Result<Option<Inherited>, PreforkError> {
        let Some(count) = listen_fds()? else { return Ok(None) };
        Self::adopt(count, named).map(Some)
    }

    /// Adopts descriptors 3 to `3 + count - 1` as listeners and those `named` variables hold,
    /// once per process.
    fn adopt(count: RawFd, named: &[&str]) -> Result<Inherited, PreforkError> {
        let listening = LISTEN_FDS_START..LISTEN_FDS_START + count;
        let numbers = named
            .iter()
            .map(|var| {
                let fd = fd_var(var)?;
                match fd {
                    Some(fd) if listening.contains(&fd) => {
                        Err(bad(format!("{var}={fd} is one of the LISTEN_FDS descriptors")))
                    }
                    fd => Ok(fd),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if TAKEN.swap(true, Ordering::AcqRel) {
            return Err(bad("the inherited descriptors were taken already".into()));
        }
        let listeners = listening
            .map(|fd| {
                let owned = sys::adopt_fd(fd).map_err(|err| bad(format!("LISTEN_FDS: {err}")))?;
                Listener::from_fd(owned).map_err(|err| bad(format!("descriptor {fd}: {err}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let named = named
            .iter()
            .zip(numbers)
            .map(|(var, fd)| fd.map(|fd| adopt_named(var, fd)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Inherited { listeners, named })
    }
}

impl Listener {
    /// The listeners systemd passed by socket activation, if `LISTEN_PID` names this process:
    /// descriptors 3 to `3 + LISTEN_FDS - 1`. The variables (`LISTEN_PID`, `LISTEN_FDS`,
    /// `LISTEN_FDNAMES`) are then removed, so no child claims the descriptors again.
    ///
    /// Call it from the single-threaded start of the program (the supervisor does, before
    /// forking): it checks that and fails otherwise.
    ///
    /// # Errors
    ///
    /// [`PreforkError::Activation`] when the variables are malformed or a descriptor is not a
    /// listening TCP or Unix stream socket.
    ///
    /// ```no_run
    /// // Under systemd with a .socket unit:
    /// if let Some(listeners) = raindrops_prefork::Listener::from_env()? {
    ///     println!("{} inherited listeners", listeners.len());
    /// }
    /// # Ok::<(), raindrops_prefork::PreforkError>(())
    /// ```
    pub fn from_env() -> Result<Option<Vec<Listener>>, PreforkError> {
        let Some(count) = listen_fds()? else { return Ok(None) };
        sys::remove_env(&["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"])
            .map_err(|err| bad(err.to_string()))?;
        Inherited::adopt(count, &[]).map(|inherited| Some(inherited.listeners))
    }
}

/// `LISTEN_FDS`, if `LISTEN_PID` names this process.
fn listen_fds() -> Result<Option<RawFd>, PreforkError> {
    let Ok(pid) = std::env::var("LISTEN_PID") else { return Ok(None) };
    let pid: u32 =
        pid.trim().parse().map_err(|_| bad(format!("LISTEN_PID={pid:?} is not a pid")))?;
    if pid != std::process::id() {
        // Meant for another process (our parent, say): leave the descriptors alone.
        return Ok(None);
    }
    let count = std::env::var("LISTEN_FDS").unwrap_or_default();
    let n = count
        .trim()
        .parse()
        .ok()
        .filter(|n| (0..=MAX_LISTEN_FDS).contains(n))
        .ok_or_else(|| bad(format!("LISTEN_FDS={count:?} is not a count of descriptors")))?;
    Ok(Some(n))
}

/// The descriptor number in variable `var`, if set.
fn fd_var(var: &str) -> Result<Option<RawFd>, PreforkError> {
    let Some(value) = std::env::var_os(var) else { return Ok(None) };
    let text = value.to_string_lossy();
    let fd = text.trim().parse::<RawFd>().ok().filter(|fd| *fd >= 0);
    fd.map(Some).ok_or_else(|| bad(format!("{var}={text:?} is not a descriptor number")))
}

/// Adopts descriptor `fd`, named in variable `var`, close-on-exec.
fn adopt_named(var: &str, fd: RawFd) -> Result<OwnedFd, PreforkError> {
    let owned = sys::adopt_fd(fd).map_err(|err| bad(format!("{var}: {err}")))?;
    let cloexec = nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC);
    nix::fcntl::fcntl(&owned, cloexec).map_err(|err| bad(format!("{var}={fd}: {err}")))?;
    Ok(owned)
}

fn bad(what: String) -> PreforkError {
    PreforkError::Activation(what)
}

/// Spawns `program` with `args` and `env`, with `fds` placed at 3, 4, ... (close-on-exec
/// cleared) and `LISTEN_PID` set to the new process's own pid: the other side of
/// [`Inherited::take`]. The caller puts `LISTEN_FDS` (and any variable naming a descriptor
/// past the listeners) in `env`.
///
/// Sound in a multi-threaded process: the child makes only async-signal-safe calls between
/// `fork` and `exec`.
///
/// # Errors
///
/// When an argument or variable contains NUL, or the program cannot be started.
///
/// ```
/// use std::os::fd::AsFd;
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let env = vec!["LISTEN_FDS=1".into(), "PATH=/usr/bin:/bin".into()];
/// let args = vec!["sh".into(), "-c".into(), "test \"$LISTEN_PID\" = $$ && test -S /proc/self/fd/3".into()];
/// let mut child = raindrops_prefork::activation::spawn_with_fds(
///     "/bin/sh".as_ref(), args, env, &[listener.as_fd()])?;
/// assert!(child.wait()?.success());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn_with_fds(
    program: &Path,
    args: Vec<OsString>,
    env: Vec<OsString>,
    fds: &[BorrowedFd<'_>],
) -> io::Result<Child> {
    let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    sys::spawn_with_fds(program, args, env, &raw)
}
