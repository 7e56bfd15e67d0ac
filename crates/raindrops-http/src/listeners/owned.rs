//! [`OwnedListeners`]: the middleware's listener numbers for listeners this server owns.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use raindrops::{ListenerAddr, SockDiag};

use super::{ConnectionCounts, Listeners};
use crate::exposition::ListenerSample;

/// Where one listener's queue length comes from.
#[derive(Debug)]
enum Queue {
    /// `TCP_INFO` on our own duplicate of the listening socket.
    Tcp(std::net::TcpListener),
    /// One `unix_diag` query for the path, over the socket all Unix listeners share.
    Unix { path: PathBuf, diag: Arc<Mutex<SockDiag>> },
}

#[derive(Debug)]
struct Owned {
    addr: ListenerAddr,
    queue: Queue,
    /// The column of this listener in the [`ConnectionCounts`].
    column: usize,
}

/// Listener numbers without walking the kernel's connection tables: active from the
/// [`CountingListener`](super::CountingListener)s' [`ConnectionCounts`], queued from
/// `TCP_INFO` on the listening socket (Unix listeners: one `unix_diag` query).
///
/// Listeners are numbered in the order they are added: the `n`th call to [`tcp`](Self::tcp)
/// or [`unix`](Self::unix) reads column `n` of the counts. The endpoint lists TCP listeners
/// first, then Unix ones, like Ruby raindrops' middleware.
///
/// It keeps a duplicate of each listening descriptor (so the socket stays open as long as
/// this value does).
///
/// ```
/// use raindrops_http::listeners::{ConnectionCounts, Listeners, OwnedListeners};
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let counts = ConnectionCounts::new(1, 1)?;
/// let owned = OwnedListeners::new(counts).tcp(&listener)?;
/// let sample = owned.sample()?;
/// assert_eq!((sample[0].active, sample[0].queued), (0, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct OwnedListeners {
    counts: ConnectionCounts,
    owned: Vec<Owned>,
}

impl OwnedListeners {
    /// No listeners yet; active counts come from `counts`.
    ///
    /// ```
    /// let counts = raindrops_http::listeners::ConnectionCounts::new(1, 2)?;
    /// let _owned = raindrops_http::listeners::OwnedListeners::new(counts);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn new(counts: ConnectionCounts) -> Self {
        OwnedListeners { counts, owned: Vec::new() }
    }

    /// Adds a TCP listener (std, tokio or socket2: anything with a descriptor).
    ///
    /// # Errors
    ///
    /// When every column of the counts is taken, or the descriptor cannot be duplicated or is
    /// not a bound socket.
    ///
    /// ```
    /// let http = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let admin = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let counts = raindrops_http::listeners::ConnectionCounts::new(1, 2)?;
    /// let _owned = raindrops_http::listeners::OwnedListeners::new(counts).tcp(&http)?.tcp(&admin)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tcp(mut self, listener: &impl AsFd) -> io::Result<Self> {
        let column = self.next_column()?;
        let dup = std::net::TcpListener::from(listener.as_fd().try_clone_to_owned()?);
        let addr = ListenerAddr::Tcp(dup.local_addr()?);
        self.owned.push(Owned { addr, queue: Queue::Tcp(dup), column });
        Ok(self)
    }

    /// Adds a Unix stream listener bound to a path.
    ///
    /// # Errors
    ///
    /// When every column of the counts is taken, the listener has no path (abstract or
    /// unnamed), or the netlink socket cannot be opened.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let listener = std::os::unix::net::UnixListener::bind(dir.path().join("app.sock"))?;
    /// let counts = raindrops_http::listeners::ConnectionCounts::new(1, 1)?;
    /// let _owned = raindrops_http::listeners::OwnedListeners::new(counts).unix(&listener)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unix(mut self, listener: &impl AsFd) -> io::Result<Self> {
        let column = self.next_column()?;
        let dup = UnixListener::from(listener.as_fd().try_clone_to_owned()?);
        let local = dup.local_addr()?;
        let path = local.as_pathname().map(PathBuf::from).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{local:?} has no path to query"))
        })?;
        let shared = self.owned.iter().find_map(|o| match &o.queue {
            Queue::Unix { diag, .. } => Some(Arc::clone(diag)),
            Queue::Tcp(_) => None,
        });
        let diag = match shared {
            Some(diag) => diag,
            None => Arc::new(Mutex::new(SockDiag::new().map_err(io::Error::other)?)),
        };
        let addr = ListenerAddr::Unix(path.clone());
        self.owned.push(Owned { addr, queue: Queue::Unix { path, diag }, column });
        Ok(self)
    }

    fn next_column(&self) -> io::Result<usize> {
        let column = self.owned.len();
        if column < self.counts.listeners() {
            Ok(column)
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the connection counts have {column} listener columns, all taken"),
            ))
        }
    }
}

impl Queue {
    fn queued(&self) -> io::Result<u64> {
        let queued = match self {
            Queue::Tcp(listener) => {
                raindrops::local_queue(listener).map_err(io::Error::other)?.queued
            }
            Queue::Unix { path, diag } => {
                let mut diag = diag.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                diag.unix_stats(path).map_err(io::Error::other)?.queued
            }
        };
        Ok(queued.into())
    }
}

impl Listeners for OwnedListeners {
    fn sample(&self) -> io::Result<Vec<ListenerSample>> {
        let tcp = self.owned.iter().filter(|o| matches!(o.queue, Queue::Tcp(_)));
        let unix = self.owned.iter().filter(|o| matches!(o.queue, Queue::Unix { .. }));
        tcp.chain(unix)
            .map(|o| {
                Ok(ListenerSample {
                    addr: o.addr.name(),
                    active: self.counts.active(o.column),
                    queued: o.queue.queued()?,
                    wait: None,
                })
            })
            .collect()
    }
}
