//! Signal presets for prefork parents other than ours: the worker signals itself (or a pid
//! it is given) with the server's own meanings, escalating from a watchdog thread.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::escalation::{Escalation, Watchdog};
use crate::recycler::{Adapter, Trigger};

/// An [`Adapter`] that escalates signals to the worker (by default the process that made the
/// adapter) from a [`Watchdog`] thread started at the trigger.
///
/// | preset | graceful | abrupt | then |
/// |---|---|---|---|
/// | [`unicorn`](Self::unicorn) | `QUIT` × 10 | `TERM` × 5 | `KILL` |
/// | [`puma_cluster`](Self::puma_cluster) | `TERM` × 10 | — | `KILL` |
/// | [`puma_single`](Self::puma_single) | `USR2` × 1 (restart in place) | — | — |
/// | [`custom`](Self::custom) | yours × 10 | yours × 5 | `KILL` |
///
/// ```
/// use nix::sys::signal::Signal::{SIGQUIT, SIGTERM};
/// use raindrops_killer::{Policy, Recycler, Signals};
///
/// let signals = Signals::unicorn();
/// assert_eq!((signals.escalation().graceful, signals.escalation().abrupt), (SIGQUIT, Some(SIGTERM)));
/// let _recycler = Recycler::new(&Policy::new().max_requests(5_000..=6_000), signals)?;
/// # Ok::<(), raindrops_killer::KillerError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Signals {
    escalation: Escalation,
    target: Option<u32>,
}

impl Signals {
    /// Unicorn (and raindrops-style prefork servers): `QUIT` asks a worker to finish its
    /// requests and exit, `TERM` to exit now.
    ///
    /// ```
    /// assert_eq!(raindrops_killer::Signals::unicorn().escalation().steps().count(), 16);
    /// ```
    pub fn unicorn() -> Self {
        Signals::custom(Signal::SIGQUIT, Some(Signal::SIGTERM))
    }

    /// A puma cluster worker: `TERM` is its graceful stop; there is no abrupt one.
    ///
    /// ```
    /// use nix::sys::signal::Signal::SIGTERM;
    /// assert_eq!(raindrops_killer::Signals::puma_cluster().escalation().graceful, SIGTERM);
    /// ```
    pub fn puma_cluster() -> Self {
        Signals::custom(Signal::SIGTERM, None)
    }

    /// Puma in single mode: `USR2` restarts the server in place (the pid stays), so it is sent
    /// once and never followed by `KILL`.
    ///
    /// ```
    /// use nix::sys::signal::Signal::SIGUSR2;
    /// let steps: Vec<_> = raindrops_killer::Signals::puma_single().escalation().steps().collect();
    /// assert_eq!(steps, [SIGUSR2]);
    /// ```
    pub fn puma_single() -> Self {
        let mut escalation = Escalation::new(Signal::SIGUSR2, None);
        escalation.graceful_tries = 1;
        escalation.kill = false;
        Signals { escalation, target: None }
    }

    /// `graceful` 10 times, `abrupt` (if any) 5 times, then `KILL`.
    ///
    /// ```
    /// use nix::sys::signal::Signal::{SIGINT, SIGUSR1};
    /// let signals = raindrops_killer::Signals::custom(SIGUSR1, Some(SIGINT));
    /// assert_eq!(signals.escalation().abrupt, Some(SIGINT));
    /// ```
    pub fn custom(graceful: Signal, abrupt: Option<Signal>) -> Self {
        Signals { escalation: Escalation::new(graceful, abrupt), target: None }
    }

    /// The same signals, `interval` apart (1 s by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// let signals = raindrops_killer::Signals::unicorn().interval(Duration::from_millis(50));
    /// assert_eq!(signals.escalation().interval, Duration::from_millis(50));
    /// ```
    pub fn interval(mut self, interval: Duration) -> Self {
        self.escalation.interval = interval;
        self
    }

    /// Signals `pid` instead of the worker that triggered (a worker whose parent restarts it
    /// when told, say).
    ///
    /// ```
    /// let signals = raindrops_killer::Signals::unicorn().target(1234);
    /// # let _ = signals;
    /// ```
    pub fn target(mut self, pid: u32) -> Self {
        self.target = Some(pid);
        self
    }

    /// The escalation followed.
    ///
    /// ```
    /// assert!(raindrops_killer::Signals::unicorn().escalation().kill);
    /// ```
    pub fn escalation(&self) -> &Escalation {
        &self.escalation
    }
}

impl Adapter for Signals {
    fn recycle(&self, trigger: &Trigger) {
        let trigger = Trigger { pid: self.target.unwrap_or(trigger.pid), ..*trigger };
        if let Err(err) = Watchdog::spawn(self.escalation, trigger) {
            // Without a thread, send the first signal from here: the worker still stops.
            tracing::error!(pid = trigger.pid, %err, "recycling: no watchdog thread");
            let _ = crate::escalation::Escalator::new(self.escalation, trigger).step();
        }
    }
}
