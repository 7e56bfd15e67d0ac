//! [`Listener`]: a listening socket the master binds (or inherits from systemd) and every
//! worker accepts on.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixListener;

use nix::sys::socket::{AddressFamily, SockType, SockaddrLike, SockaddrStorage, getsockname};
use nix::sys::socket::{getsockopt, sockopt};
use raindrops::ListenerAddr;

use crate::PreforkError;
use crate::sys;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: i32 = 3;

/// A listening socket shared by the master and its workers: TCP or Unix stream.
///
/// Listeners are non-blocking (ready for an async runtime) and close-on-exec.
///
/// ```
/// use raindrops_prefork::Listener;
///
/// let listener = Listener::bind(&"127.0.0.1:0".parse()?)?;
/// assert!(listener.addr()?.tcp().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix stream listener.
    Unix(UnixListener),
}

impl Listener {
    /// Binds `addr` (a Unix path must not exist yet) and makes the socket non-blocking.
    ///
    /// # Errors
    ///
    /// [`PreforkError::Bind`], naming the address.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.sock");
    /// let addr = raindrops::ListenerAddr::Unix(path.clone());
    /// let listener = raindrops_prefork::Listener::bind(&addr)?;
    /// assert_eq!(listener.addr()?, addr);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(addr: &ListenerAddr) -> Result<Listener, PreforkError> {
        let bound = match addr {
            ListenerAddr::Tcp(sa) => TcpListener::bind(sa).map(Listener::Tcp),
            ListenerAddr::Unix(path) => UnixListener::bind(path).map(Listener::Unix),
        };
        let listener = bound.and_then(|listener| {
            listener.set_nonblocking()?;
            Ok(listener)
        });
        listener.map_err(|error| PreforkError::Bind { addr: addr.name().to_string(), error })
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    ///
    /// When the kernel cannot tell, or a Unix socket has no path (abstract or unnamed).
    ///
    /// ```
    /// let listener = raindrops_prefork::Listener::bind(&"127.0.0.1:0".parse()?)?;
    /// assert_ne!(listener.addr()?.tcp().unwrap().port(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn addr(&self) -> io::Result<ListenerAddr> {
        match self {
            Listener::Tcp(l) => Ok(ListenerAddr::Tcp(l.local_addr()?)),
            Listener::Unix(l) => {
                let local = l.local_addr()?;
                let path = local.as_pathname().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("{local:?} has no path"))
                })?;
                Ok(ListenerAddr::Unix(path.to_owned()))
            }
        }
    }

    /// A second handle to the same socket (a `dup`, close-on-exec).
    ///
    /// # Errors
    ///
    /// When the process is out of descriptors.
    ///
    /// ```
    /// let listener = raindrops_prefork::Listener::bind(&"127.0.0.1:0".parse()?)?;
    /// let copy = listener.try_clone()?;
    /// assert_eq!(copy.addr()?, listener.addr()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(l) => Listener::Tcp(l.try_clone()?),
            Listener::Unix(l) => Listener::Unix(l.try_clone()?),
        })
    }

    fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.set_nonblocking(true),
            Listener::Unix(l) => l.set_nonblocking(true),
        }
    }

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
        let Ok(pid) = std::env::var("LISTEN_PID") else { return Ok(None) };
        let bad = |what: String| PreforkError::Activation(what);
        let pid: u32 =
            pid.trim().parse().map_err(|_| bad(format!("LISTEN_PID={pid:?} is not a pid")))?;
        if pid != std::process::id() {
            // Meant for another process (our parent, say): leave the descriptors alone.
            return Ok(None);
        }
        let count = std::env::var("LISTEN_FDS").unwrap_or_default();
        let n: i32 =
            count.trim().parse().ok().filter(|n| (0..=4096).contains(n)).ok_or_else(|| {
                bad(format!("LISTEN_FDS={count:?} is not a count of descriptors"))
            })?;
        sys::remove_env(&["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"])
            .map_err(|err| bad(err.to_string()))?;
        (LISTEN_FDS_START..LISTEN_FDS_START + n)
            .map(|fd| {
                let owned = sys::adopt_fd(fd).map_err(|err| bad(err.to_string()))?;
                Listener::from_fd(owned).map_err(|err| bad(format!("descriptor {fd}: {err}")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Wraps an inherited listening socket, checking what it is.
    fn from_fd(fd: OwnedFd) -> io::Result<Listener> {
        let not = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_owned());
        if getsockopt(&fd, sockopt::SockType).map_err(|_| not("not a socket"))? != SockType::Stream
        {
            return Err(not("not a stream socket"));
        }
        if !getsockopt(&fd, sockopt::AcceptConn)? {
            return Err(not("not listening"));
        }
        // systemd passes descriptors without close-on-exec; ours never leak into an exec.
        nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC))?;
        let family = getsockname::<SockaddrStorage>(fd.as_raw_fd())?.family();
        let listener = match family {
            Some(AddressFamily::Inet | AddressFamily::Inet6) => Listener::Tcp(fd.into()),
            Some(AddressFamily::Unix) => Listener::Unix(fd.into()),
            other => return Err(not(&format!("an unsupported address family {other:?}"))),
        };
        listener.set_nonblocking()?;
        Ok(listener)
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l) => l.as_fd(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_names_the_address_on_failure() {
        let first = Listener::bind(&"127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.addr().unwrap();
        let err = Listener::bind(&addr).unwrap_err();
        assert!(err.to_string().starts_with(&format!("cannot listen on {addr}: ")), "{err}");
    }

    #[test]
    fn listeners_are_cloexec_and_nonblocking() {
        let listener = Listener::bind(&"127.0.0.1:0".parse().unwrap()).unwrap();
        let fd = nix::fcntl::fcntl(&listener, nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert_ne!(fd & nix::libc::FD_CLOEXEC, 0);
        let fl = nix::fcntl::fcntl(&listener, nix::fcntl::FcntlArg::F_GETFL).unwrap();
        assert_ne!(fl & nix::libc::O_NONBLOCK, 0);
    }

    #[test]
    fn from_fd_refuses_what_is_not_a_listener() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let err = Listener::from_fd(file.into()).unwrap_err();
        assert_eq!(err.to_string(), "not a socket");
        let bound = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(Listener::from_fd(bound.into()).unwrap_err().to_string(), "not a stream socket");
        let socket = std::net::TcpStream::connect(
            std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap(),
        )
        .unwrap();
        assert_eq!(Listener::from_fd(socket.into()).unwrap_err().to_string(), "not listening");
    }
}
