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
/// queued connections, looked up right after the same dump ([`ListenerSample::wait`]).
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
        Ok(KernelListeners { diag: Mutex::new(SockDiag::new()?), which: Which::Addrs(ordered) })
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
        Ok(KernelListeners { diag: Mutex::new(SockDiag::new()?), which: Which::All { unix } })
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
            Which::Addrs(addrs) => {
                let stats = diag.waits(addrs)?;
                Ok(addrs.iter().zip(stats).map(|(a, (s, w))| sample(a.name(), s, w)).collect())
            }
            Which::All { unix } => {
                let tcp = diag.tcp_all_waits()?;
                let mut out: Vec<_> = tcp
                    .into_iter()
                    .map(|(a, s, w)| sample(ListenerAddr::from(a).name(), s, Some(w)))
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
