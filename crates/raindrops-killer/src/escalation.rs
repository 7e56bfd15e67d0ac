//! Escalation: the graceful signal up to 10 times, then the abrupt one up to 5 times, then
//! `SIGKILL`, one step per interval, so that a stuck worker still dies.
//!
//! Escalation runs outside the request path: an [`Escalator`] is stepped by whoever watches
//! the worker (a supervisor's loop), or [`Watchdog::spawn`] steps one on a thread of its own.

use std::thread::JoinHandle;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::recycler::Trigger;

/// The signals sent, how often, and how far apart.
///
/// ```
/// use nix::sys::signal::Signal::{SIGKILL, SIGQUIT, SIGTERM};
/// use raindrops_killer::Escalation;
///
/// let steps: Vec<_> = Escalation::new(SIGQUIT, Some(SIGTERM)).steps().collect();
/// assert_eq!(steps.len(), 10 + 5 + 1);
/// assert_eq!((steps[9], steps[10], steps[15]), (SIGQUIT, SIGTERM, SIGKILL));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    /// The signal asking the worker to finish its requests and exit.
    pub graceful: Signal,
    /// How many times it is sent (at least once).
    pub graceful_tries: u32,
    /// The signal asking the worker to exit now, if the server has one.
    pub abrupt: Option<Signal>,
    /// How many times it is sent.
    pub abrupt_tries: u32,
    /// Whether `SIGKILL` ends the escalation (false for a signal that restarts a server in
    /// place, like puma's `USR2`, where the pid lives on).
    pub kill: bool,
    /// The time between two steps.
    pub interval: Duration,
}

/// The default number of graceful signals.
pub const GRACEFUL_TRIES: u32 = 10;
/// The default number of abrupt signals.
pub const ABRUPT_TRIES: u32 = 5;
/// The default time between two steps.
pub const INTERVAL: Duration = Duration::from_secs(1);

impl Escalation {
    /// `graceful` 10 times, `abrupt` 5 times, then `SIGKILL`, 1 s apart.
    ///
    /// ```
    /// use nix::sys::signal::Signal::SIGTERM;
    /// let escalation = raindrops_killer::Escalation::new(SIGTERM, None);
    /// assert_eq!(escalation.steps().count(), 11);
    /// ```
    pub fn new(graceful: Signal, abrupt: Option<Signal>) -> Self {
        Escalation {
            graceful,
            graceful_tries: GRACEFUL_TRIES,
            abrupt,
            abrupt_tries: ABRUPT_TRIES,
            kill: true,
            interval: INTERVAL,
        }
    }

    /// The same with another interval between steps.
    ///
    /// ```
    /// use std::time::Duration;
    /// use nix::sys::signal::Signal::SIGTERM;
    /// let escalation = raindrops_killer::Escalation::new(SIGTERM, None).interval(Duration::from_millis(5));
    /// assert_eq!(escalation.interval, Duration::from_millis(5));
    /// ```
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The signals in the order they are sent.
    ///
    /// ```
    /// use nix::sys::signal::Signal::{SIGKILL, SIGUSR2};
    /// let mut once = raindrops_killer::Escalation::new(SIGUSR2, None);
    /// assert_eq!(once.steps().last(), Some(SIGKILL));
    /// once.graceful_tries = 1;
    /// once.kill = false;
    /// assert_eq!(once.steps().collect::<Vec<_>>(), [SIGUSR2]);
    /// ```
    pub fn steps(&self) -> impl Iterator<Item = Signal> + use<> {
        let graceful = std::iter::repeat_n(self.graceful, self.graceful_tries.max(1) as usize);
        let abrupt_tries = self.abrupt_tries as usize;
        let abrupt = self
            .abrupt
            .into_iter()
            .flat_map(move |signal| std::iter::repeat_n(signal, abrupt_tries));
        graceful.chain(abrupt).chain(self.kill.then_some(Signal::SIGKILL))
    }
}

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
        let Some(signal) = self.escalation.steps().nth(self.step) else {
            return Ok(Step::Done);
        };
        self.step += 1;
        let Trigger { pid, reason } = self.trigger;
        let Ok(raw) = i32::try_from(pid) else { return Ok(Step::Gone) };
        tracing::warn!(
            pid,
            reason = reason.label(),
            measured = reason.measured(),
            limit = reason.limit(),
            signal = signal.as_str(),
            step = self.step,
            "recycling: sending {signal} ({reason})"
        );
        match kill(Pid::from_raw(raw), signal) {
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
