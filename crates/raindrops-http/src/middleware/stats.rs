//! The counters the middleware keeps, and where listener numbers come from.

use std::io;
use std::sync::Arc;

use raindrops::Slot;

use crate::exposition::{LabeledCounter, ListenerSample};

raindrops::counters! {
    /// One worker's HTTP counters, a row of a [`raindrops::Workers`] segment.
    pub struct HttpStats {
        /// Requests inside the inner service.
        calling: gauge,
        /// Responses whose body is being written.
        writing: gauge,
        /// Requests received (the stats endpoint's own requests excluded).
        requests: counter,
    }
}

/// A source of listener numbers for the stats endpoint, asked once per stats request.
///
/// ```
/// use raindrops_http::exposition::ListenerSample;
/// use raindrops_http::middleware::Listeners;
///
/// /// A fixed answer, e.g. for a test.
/// struct Fixed;
/// impl Listeners for Fixed {
///     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> {
///         Ok(vec![ListenerSample { addr: "127.0.0.1:80".into(), active: 1, queued: 0 }])
///     }
/// }
/// let _layer = raindrops_http::middleware::RaindropsLayer::new()?.listeners(Fixed);
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

/// A source of the application's labelled counters for the stats endpoint (shown in JSON and
/// OpenMetrics, never in the raindrops text format), asked once per stats request. Any
/// `Fn() -> Vec<LabeledCounter>` is one.
///
/// ```
/// use raindrops_http::exposition::LabeledCounter;
///
/// let source = || {
///     vec![LabeledCounter {
///         name: "recycles".into(),
///         help: "Workers recycled.".into(),
///         label: "reason".into(),
///         values: vec![("memory".into(), 1)],
///     }]
/// };
/// let _layer = raindrops_http::middleware::RaindropsLayer::new()?.counters(source);
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
pub trait Counters: Send + Sync + 'static {
    /// The counters now.
    fn sample(&self) -> Vec<LabeledCounter>;
}

impl<F: Fn() -> Vec<LabeledCounter> + Send + Sync + 'static> Counters for F {
    fn sample(&self) -> Vec<LabeledCounter> {
        self()
    }
}

/// A shared source: one [`OwnedListeners`](crate::listeners::OwnedListeners) or
/// [`KernelListeners`](crate::listeners::KernelListeners) can feed the middleware and a Watcher.
///
/// ```
/// use std::sync::Arc;
/// use raindrops_http::listeners::KernelListeners;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let kernel = Arc::new(KernelListeners::addrs(vec!["127.0.0.1:8080".parse()?])?);
/// let _layer = raindrops_http::middleware::RaindropsLayer::new()?.listeners(Arc::clone(&kernel));
/// let _watcher = raindrops_http::watcher::Watcher::new(kernel, std::time::Duration::from_secs(1))?;
/// # Ok(())
/// # }
/// ```
impl<L: Listeners + ?Sized> Listeners for Arc<L> {
    fn sample(&self) -> io::Result<Vec<ListenerSample>> {
        (**self).sample()
    }
}

/// One stripe of a worker's counters: a row, in an allocation of its own cache lines, so
/// threads on different stripes share neither counter slots nor reference counts.
#[derive(Debug)]
#[repr(align(128))]
pub(super) struct Stripe(pub(super) HttpStats);

/// Keeps one gauge of a stripe (`calling` or `writing`) up until dropped.
#[derive(Debug)]
pub(super) struct GaugeGuard {
    stripe: Arc<Stripe>,
    gauge: fn(&HttpStats) -> &Slot,
}

impl GaugeGuard {
    /// Increments `gauge` of `stripe` now; the drop decrements it.
    pub(super) fn enter(stripe: &Arc<Stripe>, gauge: fn(&HttpStats) -> &Slot) -> Self {
        gauge(&stripe.0).incr();
        GaugeGuard { stripe: Arc::clone(stripe), gauge }
    }

    /// Moves the count to gauge `to` of the same stripe: `to` goes up before this gauge goes
    /// down (a reader never sees the request in neither), and no reference is cloned.
    pub(super) fn switch(mut self, to: fn(&HttpStats) -> &Slot) -> Self {
        to(&self.stripe.0).incr();
        (self.gauge)(&self.stripe.0).decr();
        self.gauge = to;
        self
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        (self.gauge)(&self.stripe.0).decr();
    }
}
