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

    /// A tokio listener on the same socket (a `dup`), for a worker's runtime: call it from
    /// the app (it registers the socket with the runtime it runs on).
    ///
    /// # Errors
    ///
    /// When the process is out of descriptors or the runtime cannot register the socket.
    ///
    /// ```
    /// use raindrops_prefork::{AsyncListener, Listener};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_io().build()?.block_on(async {
    /// let listener = Listener::bind(&"127.0.0.1:0".parse()?)?;
    /// let AsyncListener::Tcp(tcp) = listener.to_tokio()? else { unreachable!("bound TCP") };
    /// assert_eq!(Some(tcp.local_addr()?), listener.addr()?.tcp());
    /// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_tokio(&self) -> io::Result<AsyncListener> {
        Ok(match self.try_clone()? {
            Listener::Tcp(l) => AsyncListener::Tcp(tokio::net::TcpListener::from_std(l)?),
            Listener::Unix(l) => AsyncListener::Unix(tokio::net::UnixListener::from_std(l)?),
        })
    }

    fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.set_nonblocking(true),
            Listener::Unix(l) => l.set_nonblocking(true),
        }
    }

    /// Wraps an inherited listening socket, checking what it is.
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<Listener> {
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

/// A [`Listener`] registered with a tokio runtime ([`Listener::to_tokio`],
/// [`WorkerContext::tokio_listeners`](crate::WorkerContext::tokio_listeners)).
///
/// ```no_run
/// use raindrops_prefork::{AsyncListener, WorkerContext};
///
/// async fn app(ctx: WorkerContext) -> std::io::Result<()> {
///     for listener in ctx.tokio_listeners()? {
///         match listener {
///             AsyncListener::Tcp(tcp) => drop(tcp.accept().await?),
///             AsyncListener::Unix(unix) => drop(unix.accept().await?),
///         }
///     }
///     Ok(())
/// }
/// # let _ = app;
/// ```
#[derive(Debug)]
pub enum AsyncListener {
    /// A TCP listener.
    Tcp(tokio::net::TcpListener),
    /// A Unix stream listener.
    Unix(tokio::net::UnixListener),
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
