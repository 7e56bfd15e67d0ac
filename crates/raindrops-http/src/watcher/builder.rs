//! [`WatcherBuilder`]: the Watcher's settings before its sampler starts.

use std::sync::Arc;
use std::time::Duration;

use raindrops::ListenerName;

use super::app::Watcher;
use super::tracked::Limits;
use crate::listeners::Listeners;
use crate::server::{DEFAULT_MAX_STREAMS, StreamSlots};

/// Settings of a [`Watcher`], from [`Watcher::builder`]; [`start`](Self::start) starts it.
///
/// ```no_run
/// use std::time::Duration;
/// # use raindrops_http::{exposition::ListenerSample, listeners::Listeners};
/// # struct Host;
/// # impl Listeners for Host {
/// #     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> { Ok(vec![]) }
/// # }
/// let _watcher = raindrops_http::watcher::Watcher::builder(Host, Duration::from_secs(1))
///     .max_addresses(1024)
///     .forget_after(Duration::from_secs(300))
///     .keep(["127.0.0.1:8080"])
///     .start()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct WatcherBuilder {
    listeners: Arc<dyn Listeners>,
    delay: Duration,
    limits: Limits,
    tails: StreamSlots,
}

impl std::fmt::Debug for WatcherBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatcherBuilder")
            .field("delay", &self.delay)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl WatcherBuilder {
    pub(super) fn new(listeners: Arc<dyn Listeners>, delay: Duration) -> Self {
        WatcherBuilder {
            listeners,
            delay,
            limits: Limits::default(),
            tails: StreamSlots::new(DEFAULT_MAX_STREAMS),
        }
    }

    /// Tracks (keeps histograms, peaks and history of) at most `max` addresses at once;
    /// default 4,096. To make room for a new listener, those gone from the samples longest are
    /// forgotten first; while every tracked one is still listening, a new one is listed with
    /// its current numbers but not tracked. The first time this happens, a warning is logged
    /// (`tracing`). Addresses given to [`keep`](Self::keep) count, but are tracked even
    /// beyond `max`.
    ///
    /// ```no_run
    /// # use raindrops_http::{exposition::ListenerSample, listeners::Listeners};
    /// # struct Host;
    /// # impl Listeners for Host {
    /// #     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> { Ok(vec![]) }
    /// # }
    /// # let delay = std::time::Duration::from_secs(1);
    /// let _watcher = raindrops_http::watcher::Watcher::builder(Host, delay).max_addresses(256);
    /// ```
    #[must_use]
    pub fn max_addresses(mut self, max: usize) -> Self {
        self.limits.max_addresses = max;
        self
    }

    /// Forgets a listener no sample has listed for longer than `grace` (its histograms, peaks
    /// and history); default 60 s, so a restarted server keeps its history. Addresses given
    /// to [`keep`](Self::keep) are never forgotten.
    ///
    /// ```no_run
    /// # use raindrops_http::{exposition::ListenerSample, listeners::Listeners};
    /// # struct Host;
    /// # impl Listeners for Host {
    /// #     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> { Ok(vec![]) }
    /// # }
    /// # let delay = std::time::Duration::from_secs(1);
    /// let _watcher = raindrops_http::watcher::Watcher::builder(Host, delay)
    ///     .forget_after(std::time::Duration::from_secs(10));
    /// ```
    #[must_use]
    pub fn forget_after(mut self, grace: Duration) -> Self {
        self.limits.forget_after = grace;
        self
    }

    /// Addresses asked for by name, spelled as the listeners report them
    /// ([`ListenerSample::addr`](crate::exposition::ListenerSample::addr), e.g.
    /// `127.0.0.1:8080`, `[::1]:80`, `/run/app.sock`): always tracked, never forgotten.
    ///
    /// ```no_run
    /// # use raindrops_http::{exposition::ListenerSample, listeners::Listeners};
    /// # struct Host;
    /// # impl Listeners for Host {
    /// #     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> { Ok(vec![]) }
    /// # }
    /// # let delay = std::time::Duration::from_secs(1);
    /// let _watcher = raindrops_http::watcher::Watcher::builder(Host, delay)
    ///     .keep(["127.0.0.1:8080", "/run/app.sock"]);
    /// ```
    #[must_use]
    pub fn keep(mut self, addrs: impl IntoIterator<Item = impl Into<ListenerName>>) -> Self {
        self.limits.keep.extend(addrs.into_iter().map(Into::into));
        self
    }

    /// Streams `/tail` within `slots` (by default a cap of its own, [`DEFAULT_MAX_STREAMS`]);
    /// beyond them, `/tail` answers 503. Give it the server's
    /// [`ConnectionPolicy::stream_slots`](crate::server::ConnectionPolicy::stream_slots).
    ///
    /// ```no_run
    /// # use raindrops_http::{exposition::ListenerSample, listeners::Listeners};
    /// # struct Host;
    /// # impl Listeners for Host {
    /// #     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> { Ok(vec![]) }
    /// # }
    /// # let delay = std::time::Duration::from_secs(1);
    /// use raindrops_http::server::StreamSlots;
    /// let _watcher = raindrops_http::watcher::Watcher::builder(Host, delay)
    ///     .streams(StreamSlots::new(4));
    /// ```
    #[must_use]
    pub fn streams(mut self, slots: StreamSlots) -> Self {
        self.tails = slots;
        self
    }

    /// Starts sampling every `delay` (at least 10 ms) on a thread of its own; the first
    /// sample is taken before this returns.
    ///
    /// # Errors
    ///
    /// When the sampler thread cannot be started.
    ///
    /// ```no_run
    /// # use raindrops_http::{exposition::ListenerSample, listeners::Listeners};
    /// # struct Host;
    /// # impl Listeners for Host {
    /// #     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> { Ok(vec![]) }
    /// # }
    /// # let delay = std::time::Duration::from_secs(1);
    /// let _watcher = raindrops_http::watcher::Watcher::builder(Host, delay).start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(self) -> std::io::Result<Watcher> {
        Watcher::start(self.listeners, self.delay, self.limits, self.tails)
    }
}
