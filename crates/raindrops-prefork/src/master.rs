//! The master: one loop, one thread, no runtime.
//!
//! Signals are blocked and read from a `signalfd`, so the master installs no handler at all
//! (its children start with default dispositions and the master's mask, which they lift once
//! their own handlers are in place). Each turn of the loop waits up to [`TICK`] on the
//! signalfd and the workers' request pipe, then: handles signals, reads restart requests,
//! reaps and retires dead workers, checks readiness, heartbeats and stop deadlines, and
//! forks what is missing.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use raindrops::Workers;

use crate::backoff::Backoff;
use crate::child::{State, Worker};
use crate::control::Decoder;
use crate::log;
use crate::settings::{Prefork, Settings};
use crate::supervision::Supervision;
use crate::sys::{self, Forked};
use crate::tick::{TickHook, WorkerInfo};
use crate::worker::{self, Setup};
use crate::{Listener, PreforkError, WorkerContext};

/// The longest the master sleeps between two looks at its workers.
const TICK: Duration = Duration::from_millis(100);

/// How long a worker told to stop at once (SIGTERM) may take before SIGKILL.
const QUICK_STOP: Duration = Duration::from_secs(2);

/// The signals the master handles.
const SIGNALS: [Signal; 9] = [
    Signal::SIGCHLD,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGUSR1,
    Signal::SIGWINCH,
];

/// How the whole master is stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Graceful,
    Quick,
}

pub(crate) struct Master<F> {
    settings: Settings,
    listeners: Vec<Listener>,
    supervision: Workers<Supervision>,
    on_exit: Option<Box<dyn FnMut(usize)>>,
    on_tick: Option<(Duration, Box<TickHook>)>,
    last_tick: Instant,
    app: F,
    pid: Pid,
    mask: SigSet,
    /// Only the master reads signals and requests, and only it holds `death_write`: the
    /// child drops all three right after `fork`.
    signals: Option<SignalFd>,
    requests: Option<OwnedFd>,
    death_write: Option<OwnedFd>,
    death_read: OwnedFd,
    request_write: OwnedFd,
    decoder: Decoder,
    workers: Vec<Worker>,
    target: usize,
    backoff: Backoff,
    stop: Option<Stop>,
    notified_ready: bool,
}

impl<F, Fut> Master<F>
where
    F: Fn(WorkerContext) -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    pub(crate) fn new(prefork: Prefork, app: F) -> Result<Self, PreforkError> {
        let Prefork { settings, listeners, supervision, on_exit, on_tick } = prefork;
        if let Some(path) = &settings.log_file {
            log::redirect_stderr(path)
                .map_err(PreforkError::io(format!("cannot open {}", path.display())))?;
        }
        let mask: SigSet = SIGNALS.into_iter().collect();
        mask.thread_block().map_err(|e| PreforkError::io("cannot block signals")(e.into()))?;
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| PreforkError::io("cannot open a signalfd")(e.into()))?;
        let pipe = |flags| {
            nix::unistd::pipe2(OFlag::O_CLOEXEC | flags)
                .map_err(|e| PreforkError::io("cannot make a pipe")(e.into()))
        };
        let (requests, request_write) = pipe(OFlag::O_NONBLOCK)?;
        let (death_read, death_write) = pipe(OFlag::empty())?;
        let backoff = Backoff::new(settings.backoff.0, settings.backoff.1);
        Ok(Master {
            target: settings.workers,
            settings,
            listeners,
            supervision,
            on_exit,
            on_tick,
            last_tick: Instant::now(),
            app,
            pid: nix::unistd::getpid(),
            mask,
            signals: Some(signals),
            requests: Some(requests),
            death_write: Some(death_write),
            death_read,
            request_write,
            decoder: Decoder::default(),
            workers: Vec::new(),
            backoff,
            stop: None,
            notified_ready: false,
        })
    }

    pub(crate) fn run(mut self) -> Result<(), PreforkError> {
        tracing::info!("master starting {} workers", self.target);
        loop {
            self.wait();
            self.read_signals();
            self.read_requests();
            self.reap();
            let now = Instant::now();
            self.check(now);
            if self.stop.is_some() {
                if self.workers.is_empty() {
                    break;
                }
                continue;
            }
            self.tick(now);
            self.scale(now);
            self.replace(now);
            self.notify_ready();
        }
        self.remove_unix_sockets();
        tracing::info!("master exiting");
        Ok(())
    }

    /// Sleeps until a signal, a request, or the next tick.
    fn wait(&self) {
        let (Some(signals), Some(requests)) = (&self.signals, &self.requests) else { return };
        let mut fds = [
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(requests.as_fd(), PollFlags::POLLIN),
        ];
        let tick = self.backoff.wait(Instant::now()).clamp(Duration::from_millis(1), TICK);
        let timeout = PollTimeout::try_from(tick).unwrap_or(PollTimeout::NONE);
        // EINTR or any other failure: the loop looks at everything anyway.
        let _ = poll(&mut fds, timeout);
    }

    fn read_signals(&mut self) {
        let mut received = Vec::new();
        if let Some(signals) = &self.signals {
            while let Ok(Some(info)) = signals.read_signal() {
                received.extend(Signal::try_from(info.ssi_signo as i32).ok());
            }
        }
        for signal in received {
            self.on_signal(signal);
        }
    }

    fn on_signal(&mut self, signal: Signal) {
        let now = Instant::now();
        match signal {
            Signal::SIGQUIT if self.stop.is_none() => {
                tracing::info!("SIGQUIT: stopping gracefully");
                self.stop = Some(Stop::Graceful);
                self.notify("STOPPING=1");
                // The operator's graceful stop: slow requests get the whole graceful timeout,
                // not the escalation (that is for recycling a worker that may be stuck).
                let deadline = now + self.settings.graceful_timeout;
                let escalation = self.settings.escalation;
                for worker in &mut self.workers {
                    if !matches!(worker.state, State::Killed) {
                        worker.stop_once(&escalation, deadline, false, "");
                    }
                }
            }
            Signal::SIGTERM | Signal::SIGINT if self.stop != Some(Stop::Quick) => {
                tracing::info!("{}: stopping now", signal.as_str());
                self.stop = Some(Stop::Quick);
                self.notify("STOPPING=1");
                self.terminate_all(now + QUICK_STOP);
            }
            Signal::SIGTTIN if self.stop.is_none() => {
                if self.target < self.settings.max_workers {
                    self.target += 1;
                }
                tracing::info!("SIGTTIN: {} workers", self.target);
            }
            Signal::SIGTTOU if self.stop.is_none() => {
                self.target = self.target.saturating_sub(1);
                tracing::info!("SIGTTOU: {} workers", self.target);
            }
            Signal::SIGHUP if self.stop.is_none() => {
                let at_a_time = self.settings.max_restarting;
                tracing::info!("SIGHUP: replacing every worker, {at_a_time} at a time");
                for worker in self.workers.iter_mut().filter(|w| w.live()) {
                    worker.replace.get_or_insert_with(|| "SIGHUP".to_owned());
                }
            }
            Signal::SIGUSR1 => self.reopen_logs(),
            _ => {}
        }
    }

    /// Sends SIGTERM to every worker not already killed; SIGKILL at `deadline`.
    fn terminate_all(&mut self, deadline: Instant) {
        for worker in &mut self.workers {
            if !matches!(worker.state, State::Killed) {
                let _ = kill(worker.pid, Signal::SIGTERM);
                worker.state = State::Stopping { deadline, replaced: false, escalation: None };
            }
        }
    }

    fn reopen_logs(&mut self) {
        if let Some(path) = &self.settings.log_file {
            match log::redirect_stderr(path) {
                Ok(()) => tracing::info!("SIGUSR1: reopened {}", path.display()),
                Err(err) => tracing::warn!("SIGUSR1: cannot reopen {}: {err}", path.display()),
            }
        }
        for worker in &self.workers {
            let _ = kill(worker.pid, Signal::SIGUSR1);
        }
    }

    fn read_requests(&mut self) {
        let Some(requests) = &self.requests else { return };
        let mut buf = [0u8; 4096];
        let mut got = Vec::new();
        while let Ok(n @ 1..) = nix::unistd::read(requests, &mut buf) {
            got.extend(self.decoder.feed(&buf[..n]));
        }
        for request in got {
            let pid = Pid::from_raw(request.pid as i32);
            if self.workers.iter().any(|w| w.pid == pid && w.row == request.row) {
                self.mark(pid, request.reason, "asks to be replaced");
            }
        }
    }

    /// Marks live worker `pid` for replacement, unless it already is.
    fn mark(&mut self, pid: Pid, reason: String, how: &str) {
        let found = self.workers.iter_mut().find(|w| w.pid == pid);
        match found {
            Some(worker) if worker.live() && worker.replace.is_none() => {
                let row = worker.row;
                tracing::info!(parent: &log::worker(row, pid), "worker {row} (pid {pid}) {how}: {reason}");
                worker.replace = Some(reason);
            }
            // Already being replaced, stopping, or gone: nothing to do.
            _ => {}
        }
    }

    /// Runs the `on_tick` hook when its period has passed.
    fn tick(&mut self, now: Instant) {
        let Some((every, hook)) = &mut self.on_tick else { return };
        if now.duration_since(self.last_tick) < *every {
            return;
        }
        self.last_tick = now;
        let infos: Vec<WorkerInfo> = self
            .workers
            .iter()
            .filter(|w| w.live())
            .map(|w| WorkerInfo {
                row: w.row,
                pid: w.pid.as_raw() as u32,
                age: now.duration_since(w.spawned),
                serving: w.state == State::Serving,
                replacing: w.replace.is_some(),
            })
            .collect();
        for replacement in hook(&infos) {
            self.mark(Pid::from_raw(replacement.pid as i32), replacement.reason, "to be replaced");
        }
    }

    /// Reaps every dead child and retires its row.
    fn reap(&mut self) {
        loop {
            let (pid, how) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, format!("exited with {code}")),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, format!("killed by {sig}")),
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
                // Stopped/continued reports (not asked for), EINTR: look again.
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(err) => {
                    tracing::error!("waitpid: {err}");
                    return;
                }
            };
            let Some(at) = self.workers.iter().position(|w| w.pid == pid) else { continue };
            let worker = self.workers.swap_remove(at);
            let row = worker.row;
            tracing::info!(parent: &log::worker(row, pid), "worker {row} (pid {pid}) {how}");
            if worker.state == State::Starting {
                self.backoff.failed(Instant::now());
            }
            // A replacement whose predecessor died anyway simply takes its place.
            for w in &mut self.workers {
                if w.successor_of == Some(pid) {
                    w.successor_of = None;
                }
            }
            self.supervision.retire(worker.row);
            if let Some(retire) = &mut self.on_exit {
                retire(worker.row);
            }
        }
    }

    /// Readiness, heartbeats and stop deadlines.
    fn check(&mut self, now: Instant) {
        let timeout = self.settings.timeout;
        let mut promoted = Vec::new();
        for worker in &mut self.workers {
            match worker.state {
                State::Starting if self.supervision.worker(worker.row).ready().get() == 1 => {
                    worker.state = State::Serving;
                    self.backoff.succeeded();
                    let (row, pid) = (worker.row, worker.pid);
                    tracing::info!(parent: &log::worker(row, pid), "worker {row} (pid {pid}) serving");
                    promoted.extend(worker.successor_of.take());
                }
                State::Starting if now.duration_since(worker.spawned) > timeout => {
                    worker.kill(format_args!("not serving after {timeout:?}"));
                }
                State::Serving | State::Stopping { .. }
                    if self.supervision.heartbeat_age(worker.row).is_some_and(|a| a > timeout) =>
                {
                    worker.kill(format_args!("missed its heartbeat for {timeout:?}"));
                }
                State::Stopping { deadline, .. } if now >= deadline => {
                    worker.kill(format_args!("still running at its stop deadline"));
                }
                State::Stopping { .. } => worker.escalate(&self.settings.escalation, now),
                _ => {}
            }
        }
        // A replacement serves: now its predecessor stops accepting and finishes.
        let deadline = now + self.settings.graceful_timeout;
        for old in promoted {
            if let Some(worker) = self.workers.iter_mut().find(|w| w.pid == old && w.live()) {
                worker.stop(&self.settings.escalation, deadline, true, "replaced");
            }
        }
    }

    /// Workers that count towards the target: live, not a pending replacement.
    fn counted(&self) -> usize {
        self.workers.iter().filter(|w| w.live() && w.successor_of.is_none()).count()
    }

    /// Forks missing workers (after the backoff) and stops extra ones.
    fn scale(&mut self, now: Instant) {
        while self.counted() < self.target && self.backoff.allows(now) {
            if self.spawn(None).is_none() {
                break;
            }
        }
        while self.counted() > self.target {
            // Prefer a worker due for replacement, then the newest.
            let victim = self
                .workers
                .iter_mut()
                .filter(|w| w.live() && w.successor_of.is_none())
                .max_by_key(|w| (w.replace.is_some(), w.spawned));
            let Some(worker) = victim else { break };
            let deadline = now + self.settings.graceful_timeout;
            worker.stop(&self.settings.escalation, deadline, false, "no longer needed");
        }
    }

    /// Starts replacements for workers due for one, at most `max_restarting` at a time.
    fn replace(&mut self, now: Instant) {
        let restarting = self
            .workers
            .iter()
            .filter(|w| {
                w.successor_of.is_some()
                    || matches!(w.state, State::Stopping { replaced: true, .. })
            })
            .count();
        let mut slots = self.settings.max_restarting.saturating_sub(restarting);
        while slots > 0 && self.backoff.allows(now) {
            let due = self.workers.iter().find(|w| {
                w.live()
                    && w.replace.is_some()
                    && !self.workers.iter().any(|s| s.successor_of == Some(w.pid))
            });
            let Some(old) = due.map(|w| w.pid) else { break };
            if self.spawn(Some(old)).is_none() {
                break;
            }
            slots -= 1;
        }
    }

    fn notify_ready(&mut self) {
        let serving = self.workers.iter().filter(|w| w.state == State::Serving).count();
        if !self.notified_ready && serving >= self.target {
            self.notified_ready = true;
            tracing::info!("{serving} workers serving");
            self.notify("READY=1");
        }
    }

    fn notify(&self, state: &str) {
        if let Err(err) = crate::notify(state) {
            tracing::warn!("cannot notify the service manager ({state}): {err}");
        }
    }

    /// Forks a worker into a free row; `Some(old)` makes it the replacement of `old`.
    fn spawn(&mut self, successor_of: Option<Pid>) -> Option<Pid> {
        let row = (0..self.supervision.rows()).find(|r| !self.workers.iter().any(|w| w.row == *r));
        let Some(row) = row else {
            tracing::warn!("no free row for another worker ({} rows)", self.supervision.rows());
            return None;
        };
        // A row is retired when its worker dies; this also clears a row never used.
        self.supervision.retire(row);
        match sys::fork() {
            Ok(Forked::Child) => {
                let code = self.become_worker(row);
                std::process::exit(code)
            }
            Ok(Forked::Parent(pid)) => {
                let spawned = Instant::now();
                let state = State::Starting;
                self.workers.push(Worker { pid, row, spawned, state, successor_of, replace: None });
                let replacing = successor_of.map(|old| format!(", replacing pid {old}"));
                let replacing = replacing.unwrap_or_default();
                tracing::info!(parent: &log::worker(row, pid), "worker {row} (pid {pid}) started{replacing}");
                Some(pid)
            }
            Err(err) => {
                tracing::error!("cannot fork worker {row}: {err}");
                self.backoff.failed(Instant::now());
                None
            }
        }
    }

    /// In the child: drops what only the master holds, then runs the worker.
    fn become_worker(&mut self, row: usize) -> i32 {
        self.signals = None;
        self.requests = None;
        self.death_write = None;
        self.workers.clear();
        let setup = (|| {
            Ok::<_, io::Error>(Setup {
                row,
                master: self.pid,
                listeners: std::mem::take(&mut self.listeners),
                supervision: self.supervision.clone(),
                control: self.request_write.try_clone()?,
                death: self.death_read.try_clone()?,
                beat_every: (self.settings.timeout / 4)
                    .clamp(Duration::from_millis(10), Duration::from_secs(1)),
                log_file: self.settings.log_file.clone(),
            })
        })();
        let setup = match setup {
            Ok(setup) => setup,
            Err(err) => {
                tracing::error!(parent: &log::worker(row, std::process::id()), "worker {row}: {err}");
                return 1;
            }
        };
        let app = &self.app;
        let mask = &self.mask;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker::run(setup, app, mask)))
            .unwrap_or(101)
    }

    /// Removes the socket files of the Unix listeners it bound (the master is the last user).
    fn remove_unix_sockets(&self) {
        for path in &self.settings.sockets {
            let _ = std::fs::remove_file(path);
        }
    }
}
