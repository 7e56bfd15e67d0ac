use std::fmt;
use std::sync::Arc;

use ipnet::IpNet;
use raindrops::Workers;
use tower::Layer;

use super::service::Raindrops;
use super::shared::Shared;
use super::stats::{Counters, HttpStats, Stripe};
use crate::listeners::Listeners;

/// Wraps a service in [`Raindrops`]; see the [module docs](super).
#[derive(Clone)]
pub struct RaindropsLayer {
    pub(super) shared: Arc<Shared>,
}

impl RaindropsLayer {
    /// A layer for a single process that counts in every row of `stats` (the threads of a
    /// runtime take rows round-robin) and shows their sum; it cannot fail: the fallible part,
    /// mapping the shared rows, comes first ([`HttpStats::per_cpu`]). A prefork worker uses
    /// [`for_worker`](Self::for_worker) instead.
    ///
    /// ```
    /// use raindrops_http::middleware::{HttpStats, RaindropsLayer};
    ///
    /// let _layer = RaindropsLayer::new(HttpStats::per_cpu()?);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn new(stats: Workers<HttpStats>) -> Self {
        let stripes = (0..stats.rows()).map(|row| stats.worker(row)).collect();
        Self::with_rows(stats, stripes)
    }

    /// A layer for worker `index` of a segment created (before `fork`) by a supervisor: this
    /// worker counts in its own row and the endpoint shows the sum of all rows.
    ///
    /// # Panics
    ///
    /// When `index >= workers.rows()`.
    ///
    /// ```
    /// use raindrops::Workers;
    /// use raindrops_http::middleware::{HttpStats, RaindropsLayer};
    ///
    /// let workers = Workers::<HttpStats>::new(4)?; // in the master, before forking
    /// let _layer = RaindropsLayer::for_worker(workers, 2); // in worker 2
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn for_worker(workers: Workers<HttpStats>, index: usize) -> Self {
        let row = workers.worker(index);
        Self::with_rows(workers, vec![row])
    }

    fn with_rows(workers: Workers<HttpStats>, rows: Vec<HttpStats>) -> Self {
        let path = "/_raindrops".to_owned();
        RaindropsLayer {
            shared: Arc::new(Shared {
                stripes: rows.into_iter().map(|row| Arc::new(Stripe(row))).collect(),
                workers,
                json_path: format!("{path}.json"),
                metrics_path: format!("{path}/metrics"),
                extra_metrics_path: None,
                path,
                allow: loopback(),
                listeners: None,
                counters: None,
                accept_waits: None,
            }),
        }
    }

    fn update(mut self, f: impl FnOnce(&mut Shared)) -> Self {
        // Clones the settings only if another clone of the layer holds them.
        f(Arc::make_mut(&mut self.shared));
        self
    }

    /// Serves the endpoint at `path` (and `{path}.json`, `{path}/metrics`) instead of
    /// `/_raindrops`.
    ///
    /// ```
    /// # use raindrops_http::middleware::{HttpStats, RaindropsLayer};
    /// let _layer = RaindropsLayer::new(HttpStats::per_cpu()?).path("/stats");
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.update(|shared| {
            shared.json_path = format!("{path}.json");
            shared.metrics_path = format!("{path}/metrics");
            shared.path = path;
        })
    }

    /// Also serves OpenMetrics at `path` (for example `/metrics`).
    ///
    /// ```
    /// # use raindrops_http::middleware::{HttpStats, RaindropsLayer};
    /// let _layer = RaindropsLayer::new(HttpStats::per_cpu()?).metrics_path("/metrics");
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn metrics_path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.update(|shared| shared.extra_metrics_path = Some(path))
    }

    /// Lets peers in `net` see the endpoint too (loopback always can, unless
    /// [`allow_only`](Self::allow_only) said otherwise).
    ///
    /// ```
    /// # use raindrops_http::middleware::{HttpStats, RaindropsLayer};
    /// let _layer = RaindropsLayer::new(HttpStats::per_cpu()?)
    ///     .allow("10.0.0.0/8".parse().unwrap());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn allow(self, net: IpNet) -> Self {
        self.update(|shared| shared.allow.push(net))
    }

    /// Lets only peers in `nets` see the endpoint (replacing the loopback default).
    ///
    /// ```
    /// # use raindrops_http::middleware::{HttpStats, RaindropsLayer};
    /// let _layer = RaindropsLayer::new(HttpStats::per_cpu()?)
    ///     .allow_only(vec!["127.0.0.1/32".parse().unwrap()]);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn allow_only(self, nets: Vec<IpNet>) -> Self {
        self.update(|shared| shared.allow = nets)
    }

    /// Shows `listeners`' numbers on the endpoint.
    ///
    /// ```
    /// # use raindrops_http::middleware::{HttpStats, RaindropsLayer};
    /// # use raindrops_http::exposition::ListenerSample;
    /// # struct Fixed;
    /// # impl raindrops_http::listeners::Listeners for Fixed {
    /// #     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> { Ok(vec![]) }
    /// # }
    /// let _layer = RaindropsLayer::new(HttpStats::per_cpu()?).listeners(Fixed);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn listeners(self, listeners: impl Listeners) -> Self {
        self.update(|shared| shared.listeners = Some(Arc::new(listeners)))
    }

    /// Shows `counters` (the application's labelled counters) in the endpoint's JSON and
    /// OpenMetrics; see [`Counters`].
    ///
    /// ```
    /// # use raindrops_http::middleware::{HttpStats, RaindropsLayer};
    /// let _layer = RaindropsLayer::new(HttpStats::per_cpu()?).counters(Vec::new);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn counters(self, counters: impl Counters) -> Self {
        self.update(|shared| shared.counters = Some(Arc::new(counters)))
    }

    /// Shows `waits` (how long accepted connections waited in the accept queue, in ms:
    /// [`ConnectionCounts::accept_waits`](crate::listeners::ConnectionCounts::accept_waits))
    /// in the endpoint's JSON (`accept_wait_ms`, with percentiles) and OpenMetrics (the
    /// `raindrops_accept_wait_seconds` histogram); the text body is unchanged.
    ///
    /// ```
    /// # use raindrops_http::middleware::{HttpStats, RaindropsLayer};
    /// let counts = raindrops_http::listeners::ConnectionCounts::new(1, 1)?;
    /// let _layer = RaindropsLayer::new(HttpStats::per_cpu()?)
    ///     .accept_waits(counts.accept_waits().clone());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn accept_waits(self, waits: raindrops::SharedAggregate) -> Self {
        self.update(|shared| shared.accept_waits = Some(waits))
    }

    /// Every row the endpoint sums: every worker's, or for a single-process layer one per CPU.
    ///
    /// ```
    /// # use raindrops_http::middleware::{HttpStats, RaindropsLayer};
    /// let layer = RaindropsLayer::new(HttpStats::per_cpu()?);
    /// let total = layer.workers().sum();
    /// assert_eq!((total.calling, total.writing, total.requests), (0, 0, 0));
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn workers(&self) -> &Workers<HttpStats> {
        &self.shared.workers
    }
}

/// 127.0.0.0/8 and ::1.
fn loopback() -> Vec<IpNet> {
    vec![
        IpNet::V4(ipnet::Ipv4Net::new_assert(std::net::Ipv4Addr::LOCALHOST, 8)),
        IpNet::V6(ipnet::Ipv6Net::new_assert(std::net::Ipv6Addr::LOCALHOST, 128)),
    ]
}

impl<S> Layer<S> for RaindropsLayer {
    type Service = Raindrops<S>;

    fn layer(&self, inner: S) -> Raindrops<S> {
        Raindrops { inner, shared: Arc::clone(&self.shared) }
    }
}

impl fmt::Debug for RaindropsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RaindropsLayer")
            .field("path", &self.shared.path)
            .field("allow", &self.shared.allow)
            .finish_non_exhaustive()
    }
}

/// The service's constructors that take or make a layer (here, so that the service's own file
/// needs nothing of the layer's).
impl<S> Raindrops<S> {
    /// Wraps `inner` with the settings of `layer`.
    ///
    /// ```
    /// use raindrops_http::middleware::{HttpStats, Raindrops, RaindropsLayer};
    /// let _service = Raindrops::new(tower::service_fn(|_: http::Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// }), &RaindropsLayer::new(HttpStats::per_cpu()?));
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn new(inner: S, layer: &RaindropsLayer) -> Self {
        Raindrops { inner, shared: Arc::clone(&layer.shared) }
    }

    /// A single-process [`RaindropsLayer`] over `stats`; the same as [`RaindropsLayer::new`].
    ///
    /// ```
    /// use raindrops_http::middleware::{HttpStats, Raindrops};
    /// let _layer = Raindrops::<()>::layer(HttpStats::per_cpu()?);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn layer(stats: raindrops::Workers<HttpStats>) -> RaindropsLayer {
        RaindropsLayer::new(stats)
    }
}
