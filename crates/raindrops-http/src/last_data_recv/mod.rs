/*!
How long clients' first data waits in the accept queue: Ruby raindrops'
`Raindrops::Aggregate::LastDataRecv` and `Raindrops::LastDataRecv`, lock-free across forked
workers.

A listener with `TCP_DEFER_ACCEPT` (see [`raindrops::set_defer_accept`]) wakes `accept()` only
once a connection has sent data, so an accepted connection's `tcpi_last_data_recv` is the time
since that data arrived: the time it waited for a worker. [`RecordingListener`] sets the option
(60 s by default, like raindrops) and records that time, in milliseconds, into the worker's row
of a [`SharedAggregate`]; [`LastDataRecvService`] shows the rows merged.

The endpoint answers every request (mount it where you like):

* the `aggregate` gem's log2 histogram as `text/plain`, with raindrops' headers: `X-Count`,
  and with more than one sample `X-Min`, `X-Max`, `X-Mean` and `X-Std-Dev` (rounded, in ms),
  `X-Outliers-Low` (connections accepted within the millisecond, hopefully most) and
  `X-Outliers-High`; then `X-P50`, `X-P90`, `X-P99` and `X-P99.9`, within 1/128;
* a path ending in `.json`: the same as JSON, percentiles under `percentiles`;
* a path ending in `/metrics`, or `Accept: application/openmetrics-text`: OpenMetrics, a
  `raindrops_last_data_recv_milliseconds` histogram and a
  `raindrops_last_data_recv_quantiles_milliseconds` summary.

```no_run
use raindrops_http::last_data_recv::LastDataRecv;

# async fn run() -> Result<(), Box<dyn std::error::Error>> {
let stats = LastDataRecv::new(1)?; // before fork: one row per worker
let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
let listener = stats.listener(listener, 0)?; // in worker 0
let app = axum::Router::new()
    .route("/", axum::routing::get(|| async { "hello" }))
    .route_service("/_last_data_recv", stats.service())
    .route_service("/_last_data_recv.json", stats.service());
raindrops_http::server::Server::new(Default::default()).serve(listener, |_| app.clone()).await;
# Ok(())
# }
# let _ = run;
```
*/

mod listener;
mod service;

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use raindrops::{SegmentError, SharedAggregate};

pub use listener::RecordingListener;
pub use service::LastDataRecvService;

/// raindrops' `TCP_DEFER_ACCEPT` timeout: 60 s (the kernel rounds it to 63 s).
pub const DEFAULT_DEFER_ACCEPT: Duration = Duration::from_secs(60);

/// The statistics (one [`SharedAggregate`] row per worker) and the defer-accept timeout: makes
/// the [listeners](Self::listener) and the [endpoint](Self::service).
///
/// ```
/// let stats = raindrops_http::last_data_recv::LastDataRecv::new(2)?;
/// stats.aggregate().recorder(1).record(3);
/// assert_eq!(stats.aggregate().snapshot().count, 1);
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
#[derive(Debug, Clone)]
pub struct LastDataRecv {
    aggregate: SharedAggregate,
    defer_accept: Duration,
}

impl LastDataRecv {
    /// Statistics for `workers` workers in anonymous shared memory: make it before `fork`.
    ///
    /// # Errors
    ///
    /// When the shared memory cannot be mapped.
    ///
    /// ```
    /// let stats = raindrops_http::last_data_recv::LastDataRecv::new(4)?;
    /// assert_eq!(stats.aggregate().rows(), 4);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn new(workers: usize) -> Result<Self, SegmentError> {
        Ok(Self::from_aggregate(SharedAggregate::new(workers)?))
    }

    /// Records into (and shows) `aggregate`.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(1)?;
    /// let _stats = raindrops_http::last_data_recv::LastDataRecv::from_aggregate(aggregate);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn from_aggregate(aggregate: SharedAggregate) -> Self {
        LastDataRecv { aggregate, defer_accept: DEFAULT_DEFER_ACCEPT }
    }

    /// Sets the `TCP_DEFER_ACCEPT` timeout of the listeners made from now on (default
    /// [`DEFAULT_DEFER_ACCEPT`]; the kernel rounds it up to a sum of SYN-ACK retransmit
    /// periods, see [`raindrops::defer_accept`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let stats = raindrops_http::last_data_recv::LastDataRecv::new(1)?
    ///     .defer_accept(Duration::from_secs(10));
    /// assert_eq!(stats.defer_accept_timeout(), Duration::from_secs(10));
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[must_use]
    pub fn defer_accept(mut self, timeout: Duration) -> Self {
        self.defer_accept = timeout;
        self
    }

    /// The `TCP_DEFER_ACCEPT` timeout given to new listeners.
    ///
    /// ```
    /// use raindrops_http::last_data_recv::{DEFAULT_DEFER_ACCEPT, LastDataRecv};
    /// assert_eq!(LastDataRecv::new(1)?.defer_accept_timeout(), DEFAULT_DEFER_ACCEPT);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn defer_accept_timeout(&self) -> Duration {
        self.defer_accept
    }

    /// The shared statistics.
    ///
    /// ```
    /// let stats = raindrops_http::last_data_recv::LastDataRecv::new(1)?;
    /// assert_eq!(stats.aggregate().snapshot().count, 0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn aggregate(&self) -> &SharedAggregate {
        &self.aggregate
    }

    /// Wraps `listener` (a std or tokio `TcpListener`, or an axum `Listener` of TCP streams),
    /// setting its `TCP_DEFER_ACCEPT`, to record into row `worker`.
    ///
    /// # Errors
    ///
    /// When `listener` is not a TCP socket, or off Linux.
    ///
    /// # Panics
    ///
    /// When `worker` is not below the number of workers given to [`new`](Self::new).
    ///
    /// ```
    /// let stats = raindrops_http::last_data_recv::LastDataRecv::new(1)?;
    /// let listener = stats.listener(std::net::TcpListener::bind("127.0.0.1:0")?, 0)?;
    /// assert_eq!(raindrops::defer_accept(listener.get_ref())?.as_secs(), 63);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn listener<L: AsFd>(
        &self,
        listener: L,
        worker: usize,
    ) -> io::Result<RecordingListener<L>> {
        RecordingListener::new(listener, self.aggregate.recorder(worker), self.defer_accept)
    }

    /// The endpoint.
    ///
    /// ```
    /// let stats = raindrops_http::last_data_recv::LastDataRecv::new(1)?;
    /// let _app: axum::Router = axum::Router::new().route_service("/_ldr", stats.service());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn service(&self) -> LastDataRecvService {
        LastDataRecvService::new(self.aggregate.clone())
    }
}
