//! [`KernelListeners`]: listener numbers from the kernel over sock_diag netlink, for the
//! middleware's endpoint and the Watcher.

use std::io;
use std::sync::Mutex;

use raindrops::{ListenError, ListenerAddr, ListenerName, SockDiag};

use super::Listeners;
use crate::exposition::ListenerSample;

/// Which listeners to report.
#[derive(Debug)]
enum Which {
    /// These addresses, TCP first then Unix, each in the given order.
    Addrs(Vec<ListenerAddr>),
    /// Every TCP listener of the host, and every Unix listener if `unix`.
    All { unix: bool },
}

/// Listener numbers from the kernel, over one reused netlink socket: works for the listeners
/// of any process, in any language. Each TCP listener's sample also carries the ages of its
/// queued connections, looked up right after the same dump ([`ListenerSample::wait`]), unless
/// [`without_waits`](Self::without_waits).
///
/// ```no_run
/// use raindrops_http::listeners::{KernelListeners, Listeners};
///
/// let listeners = KernelListeners::addrs(vec!["127.0.0.1:8080".parse()?])?;
/// for sample in listeners.sample()? {
///     println!("{} active={} queued={}", sample.addr, sample.active, sample.queued);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct KernelListeners {
    diag: Mutex<SockDiag>,
    which: Which,
    /// Whether TCP samples carry their queue waits.
    waits: bool,
}

impl KernelListeners {
    /// Reports `addrs`, TCP ones first, then Unix ones, each group in the given order (the
    /// order of Ruby raindrops' middleware).
    ///
    /// # Errors
    ///
    /// When the netlink socket cannot be opened.
    ///
    /// ```no_run
    /// let _listeners = raindrops_http::listeners::KernelListeners::addrs(vec!["[::]:80".parse()?])?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn addrs(addrs: Vec<ListenerAddr>) -> Result<Self, ListenError> {
        let (tcp, unix): (Vec<_>, Vec<_>) =
            addrs.into_iter().partition(|addr| matches!(addr, ListenerAddr::Tcp(_)));
        let ordered = tcp.into_iter().chain(unix).collect();
        KernelListeners::new(Which::Addrs(ordered))
    }

    /// Reports every TCP listener of the host (sorted by address) and, with `unix`, every Unix
    /// listener.
    ///
    /// # Errors
    ///
    /// When the netlink socket cannot be opened.
    ///
    /// ```no_run
    /// let _listeners = raindrops_http::listeners::KernelListeners::all(true)?;
    /// # Ok::<(), raindrops::ListenError>(())
    /// ```
    pub fn all(unix: bool) -> Result<Self, ListenError> {
        KernelListeners::new(Which::All { unix })
    }

    fn new(which: Which) -> Result<Self, ListenError> {
        Ok(KernelListeners { diag: Mutex::new(SockDiag::new()?), which, waits: true })
    }

    /// Samples without queue waits: every [`ListenerSample::wait`] is `None`, as for a Unix
    /// listener: the stats walk alone, without the lookups of the queued connections (the
    /// counts are the same). For a Watcher whose sampler must cost the least (`raindrops watch
    /// --no-wait`).
    ///
    /// ```
    /// use raindrops_http::listeners::{KernelListeners, Listeners};
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let _queued = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let addrs = vec![listener.local_addr()?.into()];
    /// let sample = KernelListeners::addrs(addrs)?.without_waits().sample()?;
    /// assert_eq!((sample[0].queued, sample[0].wait.is_none()), (1, true));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn without_waits(mut self) -> Self {
        self.waits = false;
        self
    }

    fn query(&self) -> Result<Vec<ListenerSample>, ListenError> {
        let mut diag = self.diag.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let sample = |addr: ListenerName, stats: raindrops::ListenStats, wait| ListenerSample {
            addr,
            active: u64::from(stats.active),
            queued: u64::from(stats.queued),
            wait,
        };
        match &self.which {
            Which::Addrs(addrs) if self.waits => {
                let stats = diag.waits(addrs)?;
                Ok(addrs.iter().zip(stats).map(|(a, (s, w))| sample(a.name(), s, w)).collect())
            }
            Which::Addrs(addrs) => {
                let stats = diag.stats(addrs)?;
                Ok(addrs.iter().zip(stats).map(|(a, s)| sample(a.name(), s, None)).collect())
            }
            Which::All { unix } => {
                let tcp: Vec<_> = if self.waits {
                    diag.tcp_all_waits()?.into_iter().map(|(a, s, w)| (a, s, Some(w))).collect()
                } else {
                    diag.tcp_all()?.into_iter().map(|(a, s)| (a, s, None)).collect()
                };
                let mut out: Vec<_> = tcp
                    .into_iter()
                    .map(|(a, s, w)| sample(ListenerAddr::from(a).name(), s, w))
                    .collect();
                if *unix {
                    let mut unix = diag.unix_all()?;
                    unix.sort_by(|a, b| a.0.cmp(&b.0));
                    out.extend(unix.into_iter().map(|(p, s)| sample(p.into(), s, None)));
                }
                Ok(out)
            }
        }
    }
}

impl Listeners for KernelListeners {
    fn sample(&self) -> io::Result<Vec<ListenerSample>> {
        self.query().map_err(io::Error::other)
    }
}
