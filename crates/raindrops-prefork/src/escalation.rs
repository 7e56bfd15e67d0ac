//! How a worker told to stop is escalated: the graceful signal up to 10 times, then the
//! abrupt one up to 5 times, then `SIGKILL`, one step per interval (stalin's defaults). The
//! master uses it for every graceful stop of a worker (see
//! [`Builder::escalation`](crate::Builder::escalation)); `raindrops-killer` re-exports it for
//! its signal adapters.

use std::time::Duration;

use nix::sys::signal::Signal;

/// The signals sent, how often, and how far apart.
///
/// ```
/// use nix::sys::signal::Signal::{SIGKILL, SIGQUIT, SIGTERM};
/// use raindrops_prefork::Escalation;
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
    /// let escalation = raindrops_prefork::Escalation::new(SIGTERM, None);
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
    /// let escalation = raindrops_prefork::Escalation::new(SIGTERM, None).interval(Duration::from_millis(5));
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
    /// let mut once = raindrops_prefork::Escalation::new(SIGUSR2, None);
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
