//! The counters the middleware keeps, and where listener numbers come from.

use std::io;

use raindrops::Slot;

use crate::exposition::ListenerSample;

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

/// Keeps one gauge of a worker's row (`calling` or `writing`) up until dropped.
#[derive(Debug)]
pub(super) struct GaugeGuard {
    stats: HttpStats,
    gauge: fn(&HttpStats) -> &Slot,
}

impl GaugeGuard {
    /// Increments `gauge` of `stats` now; the drop decrements it.
    pub(super) fn enter(stats: &HttpStats, gauge: fn(&HttpStats) -> &Slot) -> Self {
        gauge(stats).incr();
        GaugeGuard { stats: stats.clone(), gauge }
    }

    /// The row this guard counts in.
    pub(super) fn stats(&self) -> &HttpStats {
        &self.stats
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        (self.gauge)(&self.stats).decr();
    }
}
