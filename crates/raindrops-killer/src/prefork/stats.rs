//! [`PreforkStats`]: the stats of a preforking HTTP server in one value, made in the master
//! before fork and used in every worker.

use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::ConnectInfo;
use axum::middleware::AddExtension;
use raindrops::{SegmentError, Workers};
use raindrops_http::exposition::LabeledCounter;
use raindrops_http::exposition::families::RECYCLES;
use raindrops_http::listeners::{ConnectionCounts, CountingListener, OwnedListeners, Peer};
use raindrops_http::middleware::{Counters, HttpStats, RaindropsLayer};
use raindrops_http::server::{ConnectionPolicy, HttpBody, HttpService, SETTLE, Server};
use raindrops_prefork::{AsyncListener, Listener, Prefork, WorkerContext};
use tower::Layer;

use super::Recycles;
use crate::{KillerError, KillerLayer, Policy, Recycler, Trigger};

/// How often a worker beats in its stats row (for readers of a file-backed segment, such as
/// `raindrops top`), and how often an idle worker checks its lifetime.
const EVERY: Duration = Duration::from_secs(1);

/// Every worker's HTTP stats, its connection counts per listener and the recycle counters,
/// in shared memory made before fork: any worker's `/_raindrops` and `/metrics` show them
/// all.
///
/// In the master, [`new`](Self::new) then [`watch`](Self::watch) (which retires a dead
/// worker's rows); in a worker, [`layer`](Self::layer) for the app, [`listener`](Self::listener)
/// for each listener it accepts on, and [`killer`](Self::killer) to recycle it. Cheap to clone.
///
/// ```no_run
/// use raindrops_killer::prefork::PreforkStats;
/// use raindrops_prefork::Prefork;
///
/// let prefork = Prefork::builder().workers(4).listen("127.0.0.1:8080".parse()?).build()?;
/// let stats = PreforkStats::for_prefork(&prefork)?;
/// stats.watch(prefork).run(move |ctx| {
///     let stats = stats.clone();
///     async move {
///         let _layer = stats.layer(&ctx)?; // put it on the app
///         let _listener = stats.listener(&ctx, ctx.tcp_listener()?)?; // serve the app on it
///         ctx.shutdown().await;
///         Ok(())
///     }
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PreforkStats {
    http: Workers<HttpStats>,
    counts: ConnectionCounts,
    recycles: Recycles,
}

impl PreforkStats {
    /// Rows for `workers` workers (a supervisor's [`rows`](Prefork::rows)) and `listeners`
    /// listeners, in anonymous shared memory: call it before fork.
    ///
    /// # Errors
    ///
    /// When the memory cannot be mapped.
    ///
    /// ```
    /// let stats = raindrops_killer::prefork::PreforkStats::new(4, 1)?;
    /// assert_eq!(stats.http().rows(), 4);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn new(workers: usize, listeners: usize) -> Result<Self, SegmentError> {
        Self::with_http(Workers::new(workers)?, listeners)
    }

    /// [`new`](Self::new) sized for `prefork`'s rows and listeners.
    ///
    /// # Errors
    ///
    /// When the memory cannot be mapped.
    ///
    /// ```
    /// use raindrops_prefork::Prefork;
    /// let prefork = Prefork::builder().workers(2).listen("127.0.0.1:0".parse()?).build()?;
    /// let stats = raindrops_killer::prefork::PreforkStats::for_prefork(&prefork)?;
    /// assert_eq!(stats.http().rows(), prefork.rows());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_prefork(prefork: &Prefork) -> Result<Self, SegmentError> {
        Self::new(prefork.rows(), prefork.listeners().len())
    }

    /// With HTTP stats rows made by the caller (a file-backed segment from
    /// [`Workers::claim`], say); the connection counts and recycle counters are mapped here.
    ///
    /// # Errors
    ///
    /// When the memory cannot be mapped.
    ///
    /// ```
    /// let http = raindrops::Workers::new(3)?;
    /// let stats = raindrops_killer::prefork::PreforkStats::with_http(http, 2)?;
    /// assert_eq!(stats.http().rows(), 3);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn with_http(http: Workers<HttpStats>, listeners: usize) -> Result<Self, SegmentError> {
        let counts = ConnectionCounts::new(http.rows(), listeners)?;
        Ok(PreforkStats { http, counts, recycles: Recycles::new()? })
    }

    /// Every worker's HTTP stats rows.
    ///
    /// ```
    /// let stats = raindrops_killer::prefork::PreforkStats::new(2, 1)?;
    /// assert_eq!(stats.http().sum().calling, 0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn http(&self) -> &Workers<HttpStats> {
        &self.http
    }

    /// The recycle counters, for the master's own policies ([`MemoryBudget`](super::MemoryBudget),
    /// [`RollingRestart`](super::RollingRestart)) to count on.
    ///
    /// ```
    /// let stats = raindrops_killer::prefork::PreforkStats::new(2, 1)?;
    /// stats.recycles().budget().incr();
    /// assert_eq!(stats.recycles().budget().get(), 1);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn recycles(&self) -> &Recycles {
        &self.recycles
    }

    /// Folds a dead worker's rows into the totals and frees them for its successor: the
    /// master calls it for each worker that exits ([`watch`](Self::watch) does).
    ///
    /// ```
    /// let stats = raindrops_killer::prefork::PreforkStats::new(2, 1)?;
    /// stats.http().worker(1).calling().incr();
    /// stats.retire(1);
    /// assert_eq!(stats.http().worker(1).calling().get(), 0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn retire(&self, worker: usize) {
        self.http.retire(worker);
        self.counts.retire(worker);
    }

    /// `prefork` retiring each dead worker's rows ([`Prefork::on_worker_exit`]).
    ///
    /// ```
    /// use raindrops_prefork::Prefork;
    /// let prefork = Prefork::builder().listen("127.0.0.1:0".parse()?).build()?;
    /// let stats = raindrops_killer::prefork::PreforkStats::for_prefork(&prefork)?;
    /// let _prefork = stats.watch(prefork);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn watch(&self, prefork: Prefork) -> Prefork {
        let stats = self.clone();
        prefork.on_worker_exit(move |row| stats.retire(row))
    }

    /// In a worker (on its runtime): the middleware for the app, counting in this worker's
    /// row and serving `/_raindrops` and `/metrics` with every worker's sum, the listeners'
    /// connection counts, the recycle counters and how long accepted connections waited in
    /// the accept queue. It also marks the row with this process's
    /// pid and starts its heartbeat.
    ///
    /// # Errors
    ///
    /// When a listener cannot be duplicated.
    ///
    /// ```no_run
    /// # use raindrops_prefork::WorkerContext;
    /// # fn app(ctx: WorkerContext, stats: raindrops_killer::prefork::PreforkStats) -> std::io::Result<()> {
    /// let app = axum::Router::<()>::new().layer(stats.layer(&ctx)?);
    /// # let _ = app; Ok(()) }
    /// # let _ = app;
    /// ```
    pub fn layer(&self, worker: &WorkerContext) -> io::Result<RaindropsLayer> {
        let row = worker.row();
        self.http.set_pid(row, std::process::id());
        let beating = self.http.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(EVERY);
            loop {
                every.tick().await;
                beating.beat(row);
            }
        });
        let mut owned = OwnedListeners::new(self.counts.clone());
        for listener in worker.listeners() {
            owned = match listener {
                Listener::Tcp(l) => owned.tcp(l)?,
                Listener::Unix(l) => owned.unix(l)?,
            };
        }
        Ok(RaindropsLayer::for_worker(self.http.clone(), row)
            .listeners(owned)
            .metrics_path("/metrics")
            .counters(self.recycles.clone())
            .accept_waits(self.counts.accept_waits().clone()))
    }

    /// In a worker: `listener` (one of the worker's, from
    /// [`WorkerContext::tokio_listeners`], say) counting its open connections in this worker's
    /// row, under the column of the supervisor's listener it shares a socket with.
    ///
    /// # Errors
    ///
    /// When `listener` is not one of the worker's sockets.
    ///
    /// ```no_run
    /// # use raindrops_prefork::WorkerContext;
    /// # async fn app(ctx: WorkerContext, stats: raindrops_killer::prefork::PreforkStats) -> std::io::Result<()> {
    /// let listener = stats.listener(&ctx, ctx.tcp_listener()?)?;
    /// axum::serve(listener, axum::Router::new()).await
    /// # }
    /// # let _ = app;
    /// ```
    pub fn listener<L: AsFd>(
        &self,
        worker: &WorkerContext,
        listener: L,
    ) -> io::Result<CountingListener<L>> {
        let socket = |fd: &dyn AsFd| {
            nix::sys::stat::fstat(fd.as_fd())
                .map(|st| (st.st_dev, st.st_ino))
                .map_err(io::Error::from)
        };
        let ours = socket(&listener)?;
        let mut columns = worker.listeners().iter().map(|l| socket(l));
        let column = columns.position(|s| s.is_ok_and(|s| s == ours)).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "not one of the worker's listeners")
        })?;
        Ok(CountingListener::new(listener, self.counts.counter(worker.row(), column)))
    }

    /// In a worker (on its runtime): the killer layer for `policy`, counting each recycle
    /// before it asks the master for a replacement, and checking the lifetime every second
    /// so that an idle worker past it is recycled too.
    ///
    /// # Errors
    ///
    /// When `policy` is invalid.
    ///
    /// ```no_run
    /// # use raindrops_prefork::WorkerContext;
    /// # fn app(ctx: WorkerContext, stats: raindrops_killer::prefork::PreforkStats) -> Result<(), raindrops_killer::KillerError> {
    /// use raindrops::memory::MemoryMetric;
    /// let policy = raindrops_killer::Policy::new().max_memory(MemoryMetric::Uss, 300 << 20..=400 << 20);
    /// let app = axum::Router::<()>::new().layer(stats.killer(&ctx, &policy)?);
    /// # let _ = app; Ok(()) }
    /// # let _ = app;
    /// ```
    pub fn killer(
        &self,
        worker: &WorkerContext,
        policy: &Policy,
    ) -> Result<KillerLayer, KillerError> {
        let (recycles, master) = (self.recycles.clone(), worker.clone());
        let adapter = move |trigger: &Trigger| {
            recycles.count(&trigger.reason);
            crate::Adapter::recycle(&master, trigger);
        };
        let layer = KillerLayer::new(Recycler::new(policy, adapter)?);
        if layer.recycler().limits().lifetime.is_some() {
            tokio::spawn(check_lifetime(Arc::clone(layer.recycler())));
        }
        Ok(layer)
    }
    /// In a worker: serves `app` on every listener of the worker, each counting its open
    /// connections, with the peer in each request (`ConnectInfo<Peer>`, which the layer
    /// reads), under `policy`, until the master asks the worker to stop; then drains: stops
    /// accepting (the other workers take new connections), lets a connection accepted just
    /// before send its request, finishes every request in flight, and returns.
    ///
    /// # Errors
    ///
    /// When a listener cannot be registered with the runtime, or a server task panicked.
    ///
    /// ```no_run
    /// # use raindrops_prefork::WorkerContext;
    /// # async fn app(ctx: WorkerContext, stats: raindrops_killer::prefork::PreforkStats) -> std::io::Result<()> {
    /// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello\n" }));
    /// stats.serve(&ctx, Default::default(), app.layer(stats.layer(&ctx)?)).await
    /// # }
    /// # let _ = app;
    /// ```
    pub async fn serve<S, B>(
        &self,
        worker: &WorkerContext,
        policy: ConnectionPolicy,
        app: S,
    ) -> io::Result<()>
    where
        S: HttpService<B>,
        AddExtension<S, ConnectInfo<Peer>>: HttpService<B>,
        B: HttpBody,
    {
        let (drain, draining) = tokio::sync::watch::channel(false);
        let server = Server::new(policy).graceful(draining, SETTLE);
        let mut servers = tokio::task::JoinSet::new();
        for (column, listener) in worker.tokio_listeners()?.into_iter().enumerate() {
            let counter = self.counts.counter(worker.row(), column);
            let (app, server) = (app.clone(), server.clone());
            let with_peer = move |peer: Peer| Extension(ConnectInfo(peer)).layer(app.clone());
            match listener {
                AsyncListener::Tcp(l) => {
                    let l = CountingListener::new(l, counter);
                    servers.spawn(server.serve(l, move |addr| with_peer(Peer::Tcp(addr))));
                }
                AsyncListener::Unix(l) => {
                    let l = CountingListener::new(l, counter);
                    servers.spawn(server.serve(l, move |_| with_peer(Peer::Unix)));
                }
            }
        }
        worker.shutdown().await;
        drain.send_replace(true);
        while let Some(done) = servers.join_next().await {
            done.map_err(io::Error::other)?;
        }
        Ok(())
    }
}

/// The recycle counters as the endpoint shows them: `raindrops_recycles_total{reason}`.
impl Counters for Recycles {
    fn sample(&self) -> Vec<LabeledCounter> {
        vec![LabeledCounter {
            name: "recycles".into(),
            help: RECYCLES.help.unwrap_or_default().into(),
            label: "reason".into(),
            values: self.iter().map(|(reason, n)| (reason.to_owned(), n)).collect(),
        }]
    }
}

/// Checks every limit every second until one is reached.
async fn check_lifetime(recycler: Arc<Recycler>) {
    let mut ticks = tokio::time::interval(EVERY);
    while !recycler.triggered() {
        ticks.tick().await;
        recycler.check_now();
    }
}
