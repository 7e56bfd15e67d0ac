//! [`Listeners`]: where listener numbers come from, for the middleware's endpoint and the
//! Watcher.

use std::io;
use std::sync::Arc;

use crate::exposition::ListenerSample;

/// A source of listener numbers for the stats endpoint, asked once per stats request.
///
/// ```
/// # use raindrops_http::middleware::{HttpStats, RaindropsLayer};
/// use raindrops_http::exposition::ListenerSample;
/// use raindrops_http::listeners::Listeners;
///
/// /// A fixed answer, e.g. for a test.
/// struct Fixed;
/// impl Listeners for Fixed {
///     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> {
///         Ok(vec![ListenerSample { addr: "127.0.0.1:80".into(), active: 1, queued: 0, wait: None }])
///     }
/// }
/// let _layer = RaindropsLayer::new(HttpStats::per_cpu()?).listeners(Fixed);
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
pub trait Listeners: Send + Sync + 'static {
    /// The listeners' numbers now, TCP first then Unix, in the configured order.
    ///
    /// # Errors
    ///
    /// When the numbers cannot be read (netlink unavailable, say); the endpoint answers 503.
    fn sample(&self) -> io::Result<Vec<ListenerSample>>;
}

/// A shared source: one [`OwnedListeners`](super::OwnedListeners) or
/// [`KernelListeners`](super::KernelListeners) can feed the middleware and a Watcher.
///
/// ```
/// # use raindrops_http::middleware::{HttpStats, RaindropsLayer};
/// use std::sync::Arc;
/// use raindrops_http::listeners::KernelListeners;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let kernel = Arc::new(KernelListeners::addrs(vec!["127.0.0.1:8080".parse()?])?);
/// let _layer = RaindropsLayer::new(HttpStats::per_cpu()?).listeners(Arc::clone(&kernel));
/// let _watcher = raindrops_http::watcher::Watcher::new(kernel, std::time::Duration::from_secs(1))?;
/// # Ok(())
/// # }
/// ```
impl<L: Listeners + ?Sized> Listeners for Arc<L> {
    fn sample(&self) -> io::Result<Vec<ListenerSample>> {
        (**self).sample()
    }
}
