//! [`Prefork`] and its [`Builder`]: the settings, checked once.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use raindrops::{ListenerAddr, Workers};

use crate::master::Master;
use crate::settings::{Prefork, Settings};
use crate::supervision::Supervision;
use crate::{
    ConfigError, Escalation, Listener, PreforkError, Replacement, WorkerContext, WorkerInfo,
};

/// Rows kept for workers added with SIGTTIN beyond the starting count, by default.
const SPARE_ROWS: usize = 16;

/// The settings of a [`Prefork`]; see [`Prefork::builder`].
#[derive(Debug)]
pub struct Builder {
    workers: usize,
    max_workers: Option<usize>,
    max_restarting: usize,
    addrs: Vec<ListenerAddr>,
    listeners: Vec<Listener>,
    timeout: Duration,
    graceful_timeout: Duration,
    escalation: Escalation,
    backoff: (Duration, Duration),
    log_file: Option<PathBuf>,
}

impl Builder {
    /// How many workers to run (default 1). SIGTTIN and SIGTTOU change it at run time.
    ///
    /// ```
    /// let _ = raindrops_prefork::Prefork::builder().workers(4);
    /// ```
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// The most workers SIGTTIN may bring (default: `workers + 16`).
    ///
    /// ```
    /// let _ = raindrops_prefork::Prefork::builder().workers(2).max_workers(8);
    /// ```
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// How many workers may be restarting at once (default 1): on SIGHUP and on
    /// [`WorkerContext::request_restart`], each replacement starts before the worker it
    /// replaces is stopped, so at least `workers` serve throughout.
    ///
    /// ```
    /// let _ = raindrops_prefork::Prefork::builder().max_restarting(2);
    /// ```
    pub fn max_restarting(mut self, k: usize) -> Self {
        self.max_restarting = k;
        self
    }

    /// Binds `addr` at [`build`](Self::build), unless a socket-activated listener
    /// (`LISTEN_FDS`) already has that address.
    ///
    /// ```
    /// let _ = raindrops_prefork::Prefork::builder().listen("127.0.0.1:8080".parse().unwrap());
    /// ```
    pub fn listen(mut self, addr: ListenerAddr) -> Self {
        self.addrs.push(addr);
        self
    }

    /// Serves on a listener the program bound itself.
    ///
    /// ```
    /// let listener = raindrops_prefork::Listener::bind(&"127.0.0.1:0".parse()?)?;
    /// let _ = raindrops_prefork::Prefork::builder().listener(listener);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn listener(mut self, listener: Listener) -> Self {
        self.listeners.push(listener);
        self
    }

    /// A worker whose heartbeat is older than this is killed (SIGKILL) and replaced (default
    /// 30 s). Heartbeats come from the worker's runtime, so a handler that blocks it counts.
    ///
    /// ```
    /// let _ = raindrops_prefork::Prefork::builder().timeout(std::time::Duration::from_secs(10));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest a worker told to stop gracefully (SIGQUIT) may take before SIGKILL,
    /// whatever the [escalation](Self::escalation) (default 30 s).
    ///
    /// ```
    /// let _ = raindrops_prefork::Prefork::builder()
    ///     .graceful_timeout(std::time::Duration::from_secs(60));
    /// ```
    pub fn graceful_timeout(mut self, timeout: Duration) -> Self {
        self.graceful_timeout = timeout;
        self
    }

    /// How the graceful stop of a worker the master replaces (recycling, HUP, TTOU) is
    /// escalated while it keeps running; the master's own graceful stop (SIGQUIT to the master)
    /// sends one SIGQUIT and waits out the graceful timeout, so slow requests finish. By default
    /// `Escalation::new(SIGQUIT, Some(SIGTERM))`, i.e. SIGQUIT at the stop and up to 9 more
    /// times, then SIGTERM up to 5 times, then SIGKILL, one step a second, each logged. A
    /// worker's SIGQUIT handler acts on the first one; SIGTERM ends it at once (its default
    /// action), so SIGKILL is only for a worker that blocks or handles SIGTERM. The
    /// [graceful timeout](Self::graceful_timeout) still bounds the whole.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nix::sys::signal::Signal::{SIGQUIT, SIGTERM};
    /// use raindrops_prefork::Escalation;
    ///
    /// let escalation = Escalation::new(SIGQUIT, Some(SIGTERM)).interval(Duration::from_secs(3));
    /// let _ = raindrops_prefork::Prefork::builder().escalation(escalation);
    /// ```
    pub fn escalation(mut self, escalation: Escalation) -> Self {
        self.escalation = escalation;
        self
    }

    /// The respawn delay after a worker died before serving: `base`, doubled on each
    /// consecutive failure up to `cap` (default 100 ms to 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let _ = raindrops_prefork::Prefork::builder()
    ///     .backoff(Duration::from_millis(50), Duration::from_secs(5));
    /// ```
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff = (base, cap);
        self
    }

    /// Appends standard error (the supervisor's log when its subscriber writes there, see
    /// [`log`](crate::log), and anything the workers write there) to `path`; SIGUSR1 reopens it
    /// in the master and every worker (after log rotation).
    ///
    /// ```
    /// let _ = raindrops_prefork::Prefork::builder().log_file("/var/log/app.log");
    /// ```
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_file = Some(path.into());
        self
    }

    /// Checks the settings, takes the socket-activated listeners (`LISTEN_FDS`, when
    /// `LISTEN_PID` is this process) and binds the other addresses.
    ///
    /// # Errors
    ///
    /// [`PreforkError::Config`] for settings out of range or no listener at all;
    /// [`PreforkError::Activation`] and [`PreforkError::Bind`] from the listeners.
    ///
    /// ```
    /// let prefork = raindrops_prefork::Prefork::builder()
    ///     .workers(2)
    ///     .listen("127.0.0.1:0".parse()?)
    ///     .build()?;
    /// assert_eq!(prefork.listeners().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> Result<Prefork, PreforkError> {
        let bad = |kind: ConfigError| Err(PreforkError::Config(kind));
        if self.workers == 0 {
            return bad(ConfigError::NoWorkers);
        }
        let max_workers = self.max_workers.unwrap_or(self.workers + SPARE_ROWS);
        if max_workers < self.workers {
            return bad(ConfigError::MaxWorkersBelowWorkers { max_workers, workers: self.workers });
        }
        if self.max_restarting == 0 {
            return bad(ConfigError::NoRestarting);
        }
        if self.timeout < Duration::from_millis(100) {
            return bad(ConfigError::TimeoutTooShort { timeout: self.timeout });
        }
        let rows = max_workers
            .checked_add(self.max_restarting)
            .filter(|&rows| rows <= 65_536)
            .ok_or(PreforkError::Config(ConfigError::TooManyRows))?;
        let mut listeners = Listener::from_env()?.unwrap_or_default();
        let inherited: Vec<ListenerAddr> =
            listeners.iter().filter_map(|listener| listener.addr().ok()).collect();
        let mut sockets = Vec::new();
        for addr in self.addrs.iter().filter(|addr| !inherited.contains(addr)) {
            listeners.push(Listener::bind(addr)?);
            sockets.extend(addr.unix().map(ToOwned::to_owned));
        }
        listeners.extend(self.listeners);
        if listeners.is_empty() {
            return bad(ConfigError::NoListener);
        }
        let supervision = Workers::<Supervision>::new(rows)
            .map_err(|err| PreforkError::io("cannot map the supervision rows")(err.into()))?;
        let settings = Settings {
            workers: self.workers,
            max_workers,
            max_restarting: self.max_restarting,
            timeout: self.timeout,
            graceful_timeout: self.graceful_timeout,
            escalation: self.escalation,
            backoff: self.backoff,
            log_file: self.log_file,
            sockets,
        };
        Ok(Prefork { settings, listeners, supervision, on_exit: None, on_tick: None })
    }
}

impl Prefork {
    /// The default settings: 1 worker, 30 s heartbeat timeout, 30 s graceful timeout, one
    /// restart at a time, no listener yet.
    ///
    /// ```
    /// let builder = raindrops_prefork::Prefork::builder().workers(2);
    /// # let _ = builder;
    /// ```
    pub fn builder() -> Builder {
        Builder {
            workers: 1,
            max_workers: None,
            max_restarting: 1,
            addrs: Vec::new(),
            listeners: Vec::new(),
            timeout: Duration::from_secs(30),
            graceful_timeout: Duration::from_secs(30),
            escalation: Escalation::new(
                nix::sys::signal::Signal::SIGQUIT,
                Some(nix::sys::signal::Signal::SIGTERM),
            ),
            backoff: (Duration::from_millis(100), Duration::from_secs(10)),
            log_file: None,
        }
    }

    /// How many worker rows there can be at once (`max_workers + max_restarting`): size the
    /// app's per-worker segments (`Workers::new(prefork.rows())`) with it, before
    /// [`run`](Self::run) forks.
    ///
    /// ```
    /// let prefork = raindrops_prefork::Prefork::builder()
    ///     .workers(2)
    ///     .max_workers(4)
    ///     .listen("127.0.0.1:0".parse()?)
    ///     .build()?;
    /// assert_eq!(prefork.rows(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rows(&self) -> usize {
        self.supervision.rows()
    }

    /// The listeners the workers will serve, inherited ones first.
    ///
    /// ```
    /// let prefork = raindrops_prefork::Prefork::builder().listen("127.0.0.1:0".parse()?).build()?;
    /// println!("{}", prefork.listeners()[0].addr()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn listeners(&self) -> &[Listener] {
        &self.listeners
    }

    /// Runs `retire(row)` in the master after each worker's death (after `waitpid`), before
    /// the row is reused: fold the dead worker's counters with `Workers::retire`, zero its
    /// gauges. It runs in the single-threaded master: it must not start threads.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { busy: gauge, hits: counter } }
    /// let prefork = raindrops_prefork::Prefork::builder().listen("127.0.0.1:0".parse()?).build()?;
    /// let stats = raindrops::Workers::<Stats>::new(prefork.rows())?;
    /// let prefork = prefork.on_worker_exit(move |row| stats.retire(row));
    /// # let _ = prefork;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_worker_exit(mut self, retire: impl FnMut(usize) + 'static) -> Self {
        self.on_exit = Some(Box::new(retire));
        self
    }

    /// Runs `hook` in the master every `every` with the live workers; each [`Replacement`] it
    /// returns marks that worker for replacement, exactly as if the worker had called
    /// [`WorkerContext::request_restart`] (replacement first, at most `max_restarting` at a
    /// time). This is where policies that look at all workers belong: a memory budget across
    /// workers (replace the largest), a rolling restart every so often. Like
    /// [`on_worker_exit`](Self::on_worker_exit) it runs in the single-threaded master and must
    /// not start threads.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let prefork = raindrops_prefork::Prefork::builder().listen("127.0.0.1:0".parse()?).build()?;
    /// // Replace any worker older than an hour.
    /// let prefork = prefork.on_tick(Duration::from_secs(1), |workers| {
    ///     workers
    ///         .iter()
    ///         .filter(|w| w.age > Duration::from_secs(3600) && !w.replacing)
    ///         .map(|w| w.replace("older than an hour"))
    ///         .collect()
    /// });
    /// # let _ = prefork;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_tick(
        mut self,
        every: Duration,
        hook: impl FnMut(&[WorkerInfo]) -> Vec<Replacement> + 'static,
    ) -> Self {
        self.on_tick = Some((every, Box::new(hook)));
        self
    }

    /// Runs the master until it is told to stop (SIGQUIT after the workers finished, or
    /// SIGTERM/SIGINT): forks the workers, each of which calls `app` on its own tokio runtime,
    /// and supervises them. Returns in the master only; workers exit when `app` returns.
    ///
    /// The process must be single-threaded (no runtime, no thread started before): `fork`
    /// checks, and fails otherwise.
    ///
    /// # Errors
    ///
    /// When the master's own setup fails (signals, pipes, the log file, a multi-threaded
    /// process). Worker failures are logged and retried, never returned.
    ///
    /// ```no_run
    /// use raindrops_prefork::{Listener, Prefork, WorkerContext};
    ///
    /// async fn app(ctx: WorkerContext) -> std::io::Result<()> {
    ///     let Listener::Tcp(listener) = &ctx.listeners()[0] else { unreachable!() };
    ///     let listener = tokio::net::TcpListener::from_std(listener.try_clone()?)?;
    ///     loop {
    ///         tokio::select! {
    ///             accepted = listener.accept() => drop(accepted?), // serve it here
    ///             () = ctx.shutdown() => return Ok(()),
    ///         }
    ///     }
    /// }
    ///
    /// Prefork::builder().workers(2).listen("127.0.0.1:8080".parse()?).build()?.run(app)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run<F, Fut>(self, app: F) -> Result<(), PreforkError>
    where
        F: Fn(WorkerContext) -> Fut,
        Fut: Future<Output = io::Result<()>>,
    {
        Master::new(self, app)?.run()
    }
}
