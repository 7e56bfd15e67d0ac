//! The counters the middleware keeps, and where the application's labelled counters come from.

use std::sync::Arc;

use raindrops::Slot;

use crate::exposition::LabeledCounter;

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

impl HttpStats {
    /// Rows for a single-process [`RaindropsLayer`](super::RaindropsLayer): one per CPU (up
    /// to 64) in an anonymous segment, so that the threads of a multi-threaded runtime do not
    /// all count in the same cache lines; the endpoint sums them.
    ///
    /// # Errors
    ///
    /// When the shared segment cannot be mapped.
    ///
    /// ```
    /// use raindrops_http::middleware::{HttpStats, RaindropsLayer};
    ///
    /// let stats = HttpStats::per_cpu()?;
    /// assert!(stats.rows() >= 1);
    /// let _layer = RaindropsLayer::new(stats);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn per_cpu() -> Result<raindrops::Workers<HttpStats>, raindrops::SegmentError> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()).min(64);
        raindrops::Workers::new(cpus)
    }
}

/// A source of the application's labelled counters for the stats endpoint (shown in JSON and
/// OpenMetrics, never in the raindrops text format), asked once per stats request. Any
/// `Fn() -> Vec<LabeledCounter>` is one.
///
/// ```
/// # use raindrops_http::middleware::{HttpStats, RaindropsLayer};
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
/// let _layer = RaindropsLayer::new(HttpStats::per_cpu()?).counters(source);
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
