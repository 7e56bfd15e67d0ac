//! The worker's side: what a forked worker does before and around the app, and the
//! [`WorkerContext`] the app gets.
//!
//! After `fork`, a worker:
//! 1. asks the kernel for SIGKILL when the master dies (`PR_SET_PDEATHSIG`), and watches a
//!    pipe whose write end only the master holds: end of file means the master is gone, even
//!    after an `exec` (which `PR_SET_PDEATHSIG` does not see). Either way it exits at once;
//! 2. builds a current-thread tokio runtime, handles QUIT (graceful stop) and USR1 (reopen the
//!    log) on it, ignores HUP, TTIN, TTOU, WINCH and USR2 (the master's signals), and leaves
//!    TERM and INT at their default (immediate exit);
//! 3. runs the app and, on the same runtime, a heartbeat task. The first beat marks the worker
//!    as serving; a handler that blocks the runtime stops the beats, and the master kills the
//!    worker after its timeout.

use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;
use raindrops::Workers;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::control::RestartRequest;
use crate::log;
use crate::supervision::Supervision;
use crate::{AsyncListener, Listener};

/// What a worker is handed by the master at `fork`.
#[derive(Debug)]
pub(crate) struct Setup {
    pub(crate) row: usize,
    pub(crate) master: Pid,
    pub(crate) listeners: Vec<Listener>,
    pub(crate) supervision: Workers<Supervision>,
    /// The write end of the master's request pipe.
    pub(crate) control: OwnedFd,
    /// The read end of the pipe whose write end only the master holds.
    pub(crate) death: OwnedFd,
    pub(crate) beat_every: Duration,
    pub(crate) log_file: Option<PathBuf>,
}

/// What the app of a worker gets: its row, the listeners, the shutdown signal, and a way to
/// ask the master for a replacement. Cheap to clone.
///
/// ```no_run
/// use raindrops_prefork::{Prefork, WorkerContext};
///
/// async fn app(ctx: WorkerContext) -> std::io::Result<()> {
///     println!("worker in row {} with {} listeners", ctx.row(), ctx.listeners().len());
///     ctx.shutdown().await; // SIGQUIT: stop accepting, finish, return
///     Ok(())
/// }
/// let prefork = Prefork::builder().listen("127.0.0.1:8080".parse()?).build()?;
/// prefork.run(app)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct WorkerContext {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    row: usize,
    listeners: Vec<Listener>,
    shutdown: watch::Receiver<bool>,
    control: OwnedFd,
}

impl WorkerContext {
    /// This worker's row: index the app's own per-worker segments with it (they must have
    /// [`Prefork::rows`](crate::Prefork::rows) rows). A row is reused by a later worker once
    /// this one has died and the master has retired it.
    ///
    /// ```no_run
    /// # use raindrops_prefork::WorkerContext;
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// # fn app(ctx: WorkerContext, stats: raindrops::Workers<Stats>) {
    /// stats.worker(ctx.row()).hits().incr();
    /// # }
    /// # let _ = app;
    /// ```
    pub fn row(&self) -> usize {
        self.inner.row
    }

    /// The listeners to accept on, in the order they were given (inherited ones first);
    /// non-blocking. [`tokio_listeners`](Self::tokio_listeners) has them for the runtime.
    ///
    /// ```no_run
    /// # use raindrops_prefork::WorkerContext;
    /// # fn app(ctx: WorkerContext) -> std::io::Result<()> {
    /// for listener in ctx.listeners() {
    ///     println!("serving {}", listener.addr()?);
    /// }
    /// # Ok(()) }
    /// # let _ = app;
    /// ```
    pub fn listeners(&self) -> &[Listener] {
        &self.inner.listeners
    }

    /// The [listeners](Self::listeners) registered with this worker's runtime, in the same
    /// order: call it from the app.
    ///
    /// # Errors
    ///
    /// When the process is out of descriptors or the runtime cannot register a socket.
    ///
    /// ```no_run
    /// # use raindrops_prefork::{AsyncListener, WorkerContext};
    /// # async fn app(ctx: WorkerContext) -> std::io::Result<()> {
    /// for (column, listener) in ctx.tokio_listeners()?.into_iter().enumerate() {
    ///     if let AsyncListener::Tcp(tcp) = listener {
    ///         println!("listener {column}: {}", tcp.local_addr()?);
    ///     }
    /// }
    /// # Ok(()) }
    /// # let _ = app;
    /// ```
    pub fn tokio_listeners(&self) -> io::Result<Vec<AsyncListener>> {
        self.inner.listeners.iter().map(Listener::to_tokio).collect()
    }

    /// The first TCP listener, registered with this worker's runtime: what a server on one
    /// TCP address needs. Call it from the app.
    ///
    /// # Errors
    ///
    /// When no listener is TCP, or it cannot be registered.
    ///
    /// ```no_run
    /// # use raindrops_prefork::WorkerContext;
    /// # async fn app(ctx: WorkerContext) -> std::io::Result<()> {
    /// let listener = ctx.tcp_listener()?;
    /// let (_stream, peer) = listener.accept().await?;
    /// println!("{peer}");
    /// # Ok(()) }
    /// # let _ = app;
    /// ```
    pub fn tcp_listener(&self) -> io::Result<tokio::net::TcpListener> {
        let tcp = self.inner.listeners.iter().find(|l| matches!(l, Listener::Tcp(_)));
        match tcp.map(Listener::to_tokio).transpose()? {
            Some(AsyncListener::Tcp(tcp)) => Ok(tcp),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "no TCP listener")),
        }
    }

    /// Resolves when the master asks this worker to stop gracefully (SIGQUIT): stop accepting,
    /// finish the requests in flight, then return from the app.
    ///
    /// ```no_run
    /// # use raindrops_prefork::WorkerContext;
    /// # async fn app(ctx: WorkerContext, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    /// let shutdown = ctx.shutdown();
    /// tokio::pin!(shutdown);
    /// loop {
    ///     tokio::select! {
    ///         accepted = listener.accept() => drop(accepted?),
    ///         () = &mut shutdown => return Ok(()),
    ///     }
    /// }
    /// # }
    /// # let _ = app;
    /// ```
    pub fn shutdown(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut shutdown = self.inner.shutdown.clone();
        async move {
            // An error means the sender is gone: the worker is ending anyway.
            let _ = shutdown.wait_for(|&stop| stop).await;
        }
    }

    /// Whether [`shutdown`](Self::shutdown) has resolved.
    ///
    /// ```no_run
    /// # use raindrops_prefork::WorkerContext;
    /// # fn app(ctx: WorkerContext) {
    /// if ctx.is_shutting_down() {
    ///     // e.g. answer with `Connection: close`
    /// }
    /// # }
    /// # let _ = app;
    /// ```
    pub fn is_shutting_down(&self) -> bool {
        *self.inner.shutdown.borrow()
    }

    /// Asks the master to replace this worker: the master starts a replacement, waits until it
    /// serves, then stops this one gracefully (SIGQUIT), restarting at most
    /// [`max_restarting`](crate::Builder::max_restarting) workers at a time. `reason` (one
    /// line, cut to about 200 bytes) goes to the master's log. Asking again before the master
    /// acted does no harm.
    ///
    /// This is how a recycling policy (memory, request count, lifetime) retires a worker
    /// without failing a request.
    ///
    /// # Errors
    ///
    /// When the request cannot be written without blocking (the master is not reading).
    ///
    /// ```no_run
    /// # use raindrops_prefork::WorkerContext;
    /// # fn app(ctx: WorkerContext, rss_mib: u64) -> std::io::Result<()> {
    /// if rss_mib > 512 {
    ///     ctx.request_restart(&format!("memory {rss_mib} MiB > 512 MiB"))?;
    /// }
    /// # Ok(()) }
    /// # let _ = app;
    /// ```
    pub fn request_restart(&self, reason: &str) -> io::Result<()> {
        let request =
            RestartRequest { row: self.inner.row, pid: std::process::id(), reason: reason.into() };
        let line = request.encode();
        // Below PIPE_BUF: the write is atomic, all or nothing.
        let written = nix::unistd::write(&self.inner.control, &line)?;
        if written == line.len() {
            Ok(())
        } else {
            Err(io::Error::other("a partial write of a restart request"))
        }
    }
}

/// The master's signals, which a worker ignores (as unicorn's workers do).
const IGNORED: [Signal; 5] =
    [Signal::SIGHUP, Signal::SIGTTIN, Signal::SIGTTOU, Signal::SIGWINCH, Signal::SIGUSR2];

/// Runs a worker to its end and returns its exit status.
pub(crate) fn run<F, Fut>(setup: Setup, app: &F, blocked: &SigSet) -> i32
where
    F: Fn(WorkerContext) -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    let row = setup.row;
    // Every event of this worker's main thread is about it.
    let _worker = log::worker(row, std::process::id()).entered();
    if let Err(err) = watch_master(setup.master, setup.death) {
        tracing::error!("worker {row}: cannot watch the master: {err}");
        return 1;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("worker {row}: cannot start a runtime: {err}");
            return 1;
        }
    };
    let result = runtime.block_on(async move {
        let (stop, shutdown) = watch::channel(false);
        handle_signals(row, stop, setup.log_file, blocked)?;
        let ctx = WorkerContext {
            inner: Arc::new(Inner {
                row,
                listeners: setup.listeners,
                shutdown,
                control: setup.control,
            }),
        };
        let served = app(ctx);
        tokio::spawn(heartbeat(setup.supervision, row, setup.beat_every));
        served.await
    });
    match result {
        Ok(()) => 0,
        Err(err) => {
            tracing::error!("worker {row}: {err}");
            1
        }
    }
}

/// Dies with the master: `PR_SET_PDEATHSIG`, plus a thread that exits when the master's end of
/// `death` closes.
fn watch_master(master: Pid, death: OwnedFd) -> io::Result<()> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    // The master may have died before the call above: then our parent is already another.
    if nix::unistd::getppid() != master {
        return Err(io::Error::other("the master is gone"));
    }
    std::thread::Builder::new().name("master-watch".into()).spawn(move || {
        let mut byte = [0u8; 1];
        // Nothing is ever written: the read returns at end of file, when the master is gone.
        while let Err(nix::errno::Errno::EINTR) = nix::unistd::read(&death, &mut byte) {}
        tracing::warn!("worker: the master is gone, exiting");
        std::process::exit(1);
    })?;
    Ok(())
}

/// QUIT → `stop`; USR1 → reopen the log file; the master's signals ignored. Then unblocks the
/// signals the master blocked, so none arrives before its handler is in place.
fn handle_signals(
    row: usize,
    stop: watch::Sender<bool>,
    log_file: Option<PathBuf>,
    blocked: &SigSet,
) -> io::Result<()> {
    let mut quit = signal(SignalKind::quit())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    for sig in IGNORED {
        // tokio installs its handler for good on the first registration: once the stream is
        // dropped, the signal only wakes the runtime, which ignores it.
        drop(signal(SignalKind::from_raw(sig as i32))?);
    }
    blocked.thread_unblock()?;
    tokio::spawn(async move {
        if quit.recv().await.is_some() {
            tracing::info!("worker {row}: SIGQUIT, stopping gracefully");
            let _ = stop.send(true);
        }
    });
    tokio::spawn(async move {
        while usr1.recv().await.is_some() {
            if let Some(path) = &log_file {
                match log::redirect_stderr(path) {
                    Ok(()) => tracing::info!("worker {row}: reopened {}", path.display()),
                    Err(err) => {
                        tracing::warn!("worker {row}: cannot reopen {}: {err}", path.display());
                    }
                }
            }
        }
    });
    Ok(())
}

/// Beats every `every` on the app's runtime; the first beat also marks the worker as serving
/// (the app has been polled once by then: it is accepting).
async fn heartbeat(supervision: Workers<Supervision>, row: usize, every: Duration) {
    supervision.beat(row);
    supervision.worker(row).ready().set(1);
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        supervision.beat(row);
    }
}
