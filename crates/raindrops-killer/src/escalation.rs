//! Escalation: the graceful signal up to 10 times, then the abrupt one up to 5 times, then
//! `SIGKILL`, one step per interval, so that a stuck worker still dies.
//!
//! Escalation runs outside the request path: an [`Escalator`] is stepped by whoever watches
//! the worker (a supervisor's loop), or [`Watchdog::spawn`] steps one on a thread of its own.
//! [`Escalation`] itself (which signals, how often) lives in `raindrops-prefork`, whose
//! master escalates the stop of its own workers with it, and is re-exported here.

use std::thread::JoinHandle;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub use raindrops_prefork::{ABRUPT_TRIES, Escalation, GRACEFUL_TRIES, INTERVAL};

use crate::recycler::Trigger;

/// What one step of an [`Escalator`] did.
///
/// ```
/// use nix::sys::signal::Signal;
/// let step = raindrops_killer::Step::Sent(Signal::SIGQUIT);
/// assert_ne!(step, raindrops_killer::Step::Gone);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The signal was sent.
    Sent(Signal),
    /// The process no longer exists: the escalation is over.
    Gone,
    /// Every signal was sent: the escalation is over.
    Done,
}

/// Sends the signals of an [`Escalation`] to one process, one per [`step`](Self::step).
///
/// A supervisor steps it every [`Escalation::interval`] until it reaps the worker (a zombie
/// still accepts signals, so only the reaper knows when to stop).
///
/// ```no_run
/// use nix::sys::signal::Signal::{SIGQUIT, SIGTERM};
/// use raindrops_killer::{Escalation, Escalator, Reason, Step, Trigger};
///
/// let worker = 12345;
/// let trigger = Trigger { pid: worker, reason: Reason::Requested };
/// let mut escalator = Escalator::new(Escalation::new(SIGQUIT, Some(SIGTERM)), trigger);
/// while let Step::Sent(_) = escalator.step()? {
///     std::thread::sleep(escalator.escalation().interval);
///     // ... stop once waitpid(worker) reaped it.
/// }
/// # Ok::<(), nix::Error>(())
/// ```
#[derive(Debug)]
pub struct Escalator {
    escalation: Escalation,
    trigger: Trigger,
    step: usize,
}

impl Escalator {
    /// An escalation of `trigger.pid` for `trigger.reason`, before its first step.
    ///
    /// ```
    /// use nix::sys::signal::Signal::SIGTERM;
    /// use raindrops_killer::{Escalation, Escalator, Reason, Trigger};
    /// let trigger = Trigger { pid: 1, reason: Reason::Requested };
    /// let escalator = Escalator::new(Escalation::new(SIGTERM, None), trigger);
    /// assert_eq!(escalator.trigger().pid, 1);
    /// ```
    pub fn new(escalation: Escalation, trigger: Trigger) -> Self {
        Escalator { escalation, trigger, step: 0 }
    }

    /// The escalation followed.
    ///
    /// ```
    /// # use nix::sys::signal::Signal::SIGTERM;
    /// # use raindrops_killer::{Escalation, Escalator, Reason, Trigger};
    /// let escalation = Escalation::new(SIGTERM, None);
    /// let escalator = Escalator::new(escalation, Trigger { pid: 1, reason: Reason::Requested });
    /// assert_eq!(escalator.escalation(), &escalation);
    /// ```
    pub fn escalation(&self) -> &Escalation {
        &self.escalation
    }

    /// The process escalated and why.
    ///
    /// ```
    /// # use nix::sys::signal::Signal::SIGTERM;
    /// # use raindrops_killer::{Escalation, Escalator, Reason, Trigger};
    /// let escalator = Escalator::new(Escalation::new(SIGTERM, None), Trigger { pid: 7, reason: Reason::Requested });
    /// assert_eq!(escalator.trigger().reason, Reason::Requested);
    /// ```
    pub fn trigger(&self) -> &Trigger {
        &self.trigger
    }

    /// Sends the next signal, logging it (pid, reason, measured, limit, signal, step).
    ///
    /// # Errors
    ///
    /// When `kill` fails for another reason than a missing process (`EPERM`: not ours).
    ///
    /// ```
    /// use nix::sys::signal::Signal::SIGTERM;
    /// use raindrops_killer::{Escalation, Escalator, Reason, Step, Trigger};
    /// // Pid 0x7fff_fff0 does not exist.
    /// let trigger = Trigger { pid: 0x7fff_fff0, reason: Reason::Requested };
    /// let mut escalator = Escalator::new(Escalation::new(SIGTERM, None), trigger);
    /// assert_eq!(escalator.step()?, Step::Gone);
    /// # Ok::<(), nix::Error>(())
    /// ```
    pub fn step(&mut self) -> nix::Result<Step> {
        self.step_with(|pid, signal| match i32::try_from(pid) {
            Ok(raw) => kill(Pid::from_raw(raw), signal),
            Err(_) => Err(Errno::ESRCH),
        })
    }

    /// [`step`](Self::step) with the signal sent by `send(pid, signal)` instead of `kill`: a
    /// watcher outside the process tree sends it through a pidfd, so that a pid reused by
    /// another process is never signalled. `send` returning `ESRCH` ends the escalation.
    ///
    /// # Errors
    ///
    /// What `send` returns, but `ESRCH` (the process is gone).
    ///
    /// ```
    /// use nix::errno::Errno;
    /// use nix::sys::signal::Signal::{SIGQUIT, SIGTERM};
    /// use raindrops_killer::{Escalation, Escalator, Reason, Step, Trigger};
    ///
    /// let trigger = Trigger { pid: 42, reason: Reason::Requested };
    /// let mut escalator = Escalator::new(Escalation::new(SIGQUIT, Some(SIGTERM)), trigger);
    /// let mut sent = Vec::new();
    /// assert_eq!(escalator.step_with(|_, s| Ok(sent.push(s)))?, Step::Sent(SIGQUIT));
    /// assert_eq!(escalator.step_with(|_, _| Err(Errno::ESRCH))?, Step::Gone);
    /// assert_eq!(sent, [SIGQUIT]);
    /// # Ok::<(), nix::Error>(())
    /// ```
    pub fn step_with(
        &mut self,
        send: impl FnOnce(u32, Signal) -> nix::Result<()>,
    ) -> nix::Result<Step> {
        let Some(signal) = self.escalation.steps().nth(self.step) else {
            return Ok(Step::Done);
        };
        self.step += 1;
        let Trigger { pid, reason } = self.trigger;
        tracing::warn!(
            pid,
            reason = reason.label(),
            measured = reason.measured(),
            limit = reason.limit(),
            signal = signal.as_str(),
            step = self.step,
            "recycling: sending {signal} ({reason})"
        );
        match send(pid, signal) {
            Ok(()) => Ok(Step::Sent(signal)),
            Err(Errno::ESRCH) => Ok(Step::Gone),
            Err(err) => Err(err),
        }
    }
}

/// A thread stepping an [`Escalator`] every interval until the process is gone or every
/// signal was sent: escalation for a worker with nobody else watching (it may signal its own
/// process, as stalin does).
///
/// ```no_run
/// use nix::sys::signal::Signal::{SIGQUIT, SIGTERM};
/// use raindrops_killer::{Escalation, Reason, Trigger, Watchdog};
///
/// let trigger = Trigger { pid: std::process::id(), reason: Reason::Requested };
/// let _thread = Watchdog::spawn(Escalation::new(SIGQUIT, Some(SIGTERM)), trigger)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Watchdog;

impl Watchdog {
    /// Starts the thread (named `raindrops-killer`); it returns the last step.
    ///
    /// # Errors
    ///
    /// When the thread cannot be created.
    ///
    /// ```
    /// use nix::sys::signal::Signal::SIGTERM;
    /// use raindrops_killer::{Escalation, Reason, Step, Trigger, Watchdog};
    /// let trigger = Trigger { pid: 0x7fff_fff0, reason: Reason::Requested };
    /// let thread = Watchdog::spawn(Escalation::new(SIGTERM, None), trigger)?;
    /// assert_eq!(thread.join().unwrap(), Ok(Step::Gone));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn(
        escalation: Escalation,
        trigger: Trigger,
    ) -> std::io::Result<JoinHandle<nix::Result<Step>>> {
        std::thread::Builder::new().name("raindrops-killer".into()).spawn(move || {
            let mut escalator = Escalator::new(escalation, trigger);
            loop {
                match escalator.step() {
                    Ok(Step::Sent(_)) => std::thread::sleep(escalation.interval),
                    Ok(last) => return Ok(last),
                    Err(err) => {
                        tracing::error!(pid = trigger.pid, %err, "recycling: cannot signal");
                        return Err(err);
                    }
                }
            }
        })
    }
}
