//! A worker process as the master sees it: where it is in its life ([`State`]) and how it is
//! stopped (graceful signal, escalation, SIGKILL).

use std::time::Instant;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::Escalation;
use crate::log;

/// Where a worker is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Forked, not yet serving.
    Starting,
    /// Beat at least once.
    Serving,
    /// Told to stop; SIGKILL at the deadline. `replaced`: a successor took its place.
    /// `escalation`: `Some((sent, next))` while a graceful stop escalates, `sent` signals of
    /// the escalation sent so far, the next one due at `next`.
    Stopping { deadline: Instant, replaced: bool, escalation: Option<(usize, Instant)> },
    /// SIGKILL sent; waiting to reap it.
    Killed,
}

/// One live worker process.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) pid: Pid,
    pub(crate) row: usize,
    pub(crate) spawned: Instant,
    pub(crate) state: State,
    /// `Some(old)`: started to replace worker `old`, which is stopped once this one serves.
    pub(crate) successor_of: Option<Pid>,
    /// Why this worker is to be replaced (SIGHUP, or its own request).
    pub(crate) replace: Option<String>,
}

impl Worker {
    pub(crate) fn live(&self) -> bool {
        matches!(self.state, State::Starting | State::Serving)
    }

    /// Stops gracefully: the escalation's first (graceful) signal now, the next ones from
    /// [`escalate`](Self::escalate); SIGKILL at `deadline` in any case. `why` goes to the log.
    pub(crate) fn stop(
        &mut self,
        escalation: &Escalation,
        deadline: Instant,
        replaced: bool,
        why: &str,
    ) {
        self.stop_once(escalation, deadline, replaced, why);
        let next = Instant::now() + escalation.interval;
        self.state = State::Stopping { deadline, replaced, escalation: Some((1, next)) };
    }

    /// Stops gracefully with the escalation's graceful signal only, as unicorn's QUIT does:
    /// in-flight requests have until `deadline`, then SIGKILL.
    pub(crate) fn stop_once(
        &mut self,
        escalation: &Escalation,
        deadline: Instant,
        replaced: bool,
        why: &str,
    ) {
        let signal = escalation.graceful;
        if !why.is_empty() {
            let (row, pid) = (self.row, self.pid);
            tracing::info!(parent: &log::worker(row, pid), "worker {row} (pid {pid}) {why}: {}", signal.as_str());
        }
        let _ = kill(self.pid, signal);
        self.state = State::Stopping { deadline, replaced, escalation: None };
    }

    /// Sends the escalation's next signal if it is due, logging it.
    pub(crate) fn escalate(&mut self, escalation: &Escalation, now: Instant) {
        let State::Stopping { deadline, replaced, escalation: Some((sent, next)) } = self.state
        else {
            return;
        };
        if now < next {
            return;
        }
        let step = sent + 1;
        let total = escalation.steps().count();
        let (row, pid) = (self.row, self.pid);
        match escalation.steps().nth(sent) {
            Some(Signal::SIGKILL) => self.kill(format_args!("still running ({step}/{total})")),
            Some(signal) => {
                tracing::warn!(
                    parent: &log::worker(row, pid),
                    "worker {row} (pid {pid}) still running ({step}/{total}): {}",
                    signal.as_str()
                );
                let _ = kill(pid, signal);
                let escalation = Some((step, next + escalation.interval));
                self.state = State::Stopping { deadline, replaced, escalation };
            }
            // Every signal sent and none was SIGKILL: the deadline decides.
            None => self.state = State::Stopping { deadline, replaced, escalation: None },
        }
    }

    /// SIGKILL, saying `why` in the log.
    pub(crate) fn kill(&mut self, why: std::fmt::Arguments<'_>) {
        let (row, pid) = (self.row, self.pid);
        tracing::warn!(parent: &log::worker(row, pid), "worker {row} (pid {pid}) {why}: SIGKILL");
        let _ = kill(self.pid, Signal::SIGKILL);
        self.state = State::Killed;
    }
}
