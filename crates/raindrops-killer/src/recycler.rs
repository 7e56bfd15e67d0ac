//! One worker's recycling state: its limits, its request count, the check, and the
//! [`Adapter`] told once when a limit is reached.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use raindrops::memory::{MemoryError, MemoryMetric, MemoryProbe};

use crate::policy::{Limits, Policy, PolicyError, Reason};

/// What a worker reached, and which worker.
///
/// ```
/// use raindrops_killer::{Reason, Trigger};
/// let trigger = Trigger { pid: 42, reason: Reason::Requested };
/// assert_eq!(trigger.reason.label(), "requested");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    /// The worker's pid.
    pub pid: u32,
    /// The limit reached.
    pub reason: Reason,
}

/// How a worker is recycled: what happens once a limit is reached.
///
/// [`recycle`](Self::recycle) is called once per worker, on the request path, right after the
/// response that reached the limit has been fully sent. It must return at once: hand the work
/// to a thread or a task (stop accepting, finish in-flight requests, exit), and drive any
/// escalation from there, never from the request path.
///
/// Implementations: [`Signals`](crate::Signals) (a prefork parent that understands signals),
/// [`Reexec`](crate::Reexec) (a single process that re-executes itself). A supervisor that
/// restarts workers on request implements it by sending that request. Any `Fn(&Trigger)`
/// is an adapter too:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use raindrops_killer::{Policy, Recycler};
///
/// let recycled = Arc::new(AtomicU64::new(0));
/// let seen = Arc::clone(&recycled);
/// let recycler = Recycler::new(&Policy::new().max_requests(2..=2), move |trigger: &raindrops_killer::Trigger| {
///     seen.store(trigger.reason.measured(), Ordering::Relaxed);
/// })?;
/// recycler.response_sent();
/// recycler.response_sent();
/// assert_eq!(recycled.load(Ordering::Relaxed), 2);
/// # Ok::<(), raindrops_killer::KillerError>(())
/// ```
pub trait Adapter: Send + Sync + 'static {
    /// Starts recycling the worker described by `trigger`; returns at once.
    fn recycle(&self, trigger: &Trigger);
}

impl<F: Fn(&Trigger) + Send + Sync + 'static> Adapter for F {
    fn recycle(&self, trigger: &Trigger) {
        self(trigger)
    }
}

/// Why a [`Recycler`] could not be made.
///
/// ```
/// use raindrops_killer::{KillerError, Policy, Recycler, Trigger};
/// let err = Recycler::new(&Policy::new().cycle(0), |_: &Trigger| {}).unwrap_err();
/// assert!(matches!(err, KillerError::Policy(_)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KillerError {
    /// The policy is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The memory metric cannot be read for this process.
    #[error("cannot watch this worker's memory: {0}")]
    Memory(#[from] MemoryError),
}

/// One worker's recycling state. Make it in the worker (after `fork`): it measures the
/// process that creates it.
///
/// [`response_sent`](Self::response_sent) counts a response and checks: the request limit on
/// every call (a comparison), memory and lifetime every [`Limits::cycle`] calls (one `pread`
/// of a procfs file and a clock read). For PSS and USS, RSS (`statm`, ~2 µs) is read first
/// and `smaps_rollup` (~35 µs) only when RSS exceeds the limit, since neither exceeds RSS
/// (pages of hugetlbfs aside: statm does not count them). A check never allocates. The first limit reached calls
/// the [`Adapter`] once; later checks do nothing.
///
/// ```
/// use raindrops_killer::{Policy, Recycler, Trigger};
/// let recycler = Recycler::new(&Policy::new().max_requests(1..=1), |_: &Trigger| {})?;
/// assert!(!recycler.triggered());
/// recycler.response_sent();
/// assert!(recycler.triggered());
/// # Ok::<(), raindrops_killer::KillerError>(())
/// ```
pub struct Recycler {
    limits: Limits,
    probe: Option<MemoryProbe>,
    /// For PSS and USS: RSS, which bounds both and costs a twentieth to read.
    rss: Option<MemoryProbe>,
    pid: u32,
    born: Instant,
    served: AtomicU64,
    triggered: AtomicBool,
    adapter: Box<dyn Adapter>,
}

impl std::fmt::Debug for Recycler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recycler")
            .field("pid", &self.pid)
            .field("limits", &self.limits)
            .field("served", &self.served())
            .field("triggered", &self.triggered())
            .finish_non_exhaustive()
    }
}

impl Recycler {
    /// Draws this worker's limits from `policy`.
    ///
    /// # Errors
    ///
    /// When the policy is invalid or its memory metric cannot be read for this process.
    ///
    /// ```
    /// use raindrops::memory::MemoryMetric;
    /// use raindrops_killer::{Policy, Recycler, Trigger};
    /// let policy = Policy::new().max_memory(MemoryMetric::Uss, 1 << 30..=2 << 30);
    /// let recycler = Recycler::new(&policy, |_: &Trigger| {})?;
    /// assert!(recycler.limits().memory.is_some());
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn new(policy: &Policy, adapter: impl Adapter) -> Result<Self, KillerError> {
        Recycler::with_limits(policy.draw()?, adapter)
    }

    /// Uses `limits` as they are.
    ///
    /// # Errors
    ///
    /// When the memory metric cannot be read for this process, or the cycle is 0.
    ///
    /// ```
    /// use raindrops_killer::{Limits, Recycler, Trigger};
    /// let limits = Limits { requests: Some(5), ..Limits::default() };
    /// assert_eq!(Recycler::with_limits(limits, |_: &Trigger| {})?.limits(), &limits);
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn with_limits(limits: Limits, adapter: impl Adapter) -> Result<Self, KillerError> {
        if limits.cycle == 0 {
            return Err(PolicyError::ZeroCycle.into());
        }
        let pid = std::process::id();
        let probe = limits.memory.map(|(metric, _)| MemoryProbe::new(pid, metric)).transpose()?;
        let bounded = matches!(limits.memory, Some((MemoryMetric::Pss | MemoryMetric::Uss, _)));
        // No statm (no procfs): no shortcut, the metric alone decides.
        let rss = bounded.then(|| MemoryProbe::new(pid, MemoryMetric::Rss).ok()).flatten();
        Ok(Recycler {
            limits,
            probe,
            rss,
            pid,
            born: Instant::now(),
            served: AtomicU64::new(0),
            triggered: AtomicBool::new(false),
            adapter: Box::new(adapter),
        })
    }

    /// This worker's limits.
    ///
    /// ```
    /// # use raindrops_killer::{Policy, Recycler, Trigger};
    /// let recycler = Recycler::new(&Policy::new(), |_: &Trigger| {})?;
    /// assert_eq!(recycler.limits().requests, None);
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Responses counted so far.
    ///
    /// ```
    /// # use raindrops_killer::{Policy, Recycler, Trigger};
    /// let recycler = Recycler::new(&Policy::new(), |_: &Trigger| {})?;
    /// recycler.response_sent();
    /// assert_eq!(recycler.served(), 1);
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn served(&self) -> u64 {
        // Relaxed: a count, not used to order other memory.
        self.served.load(Ordering::Relaxed)
    }

    /// Whether a limit was reached (and the adapter called).
    ///
    /// ```
    /// # use raindrops_killer::{Policy, Recycler, Trigger};
    /// let recycler = Recycler::new(&Policy::new(), |_: &Trigger| {})?;
    /// assert!(!recycler.triggered());
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn triggered(&self) -> bool {
        // Relaxed: a flag set once; the adapter call is ordered by the swap in `recycle`.
        self.triggered.load(Ordering::Relaxed)
    }

    /// Counts one response fully sent, then checks the limits (memory and lifetime only every
    /// `cycle` responses). Called by [`KillerLayer`](crate::KillerLayer)'s body at its end.
    ///
    /// ```
    /// # use raindrops_killer::{Policy, Recycler, Trigger};
    /// let recycler = Recycler::new(&Policy::new().max_requests(3..=3), |_: &Trigger| {})?;
    /// recycler.response_sent();
    /// recycler.response_sent();
    /// assert!(!recycler.triggered());
    /// recycler.response_sent();
    /// assert!(recycler.triggered());
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn response_sent(&self) {
        // Relaxed: each response is counted exactly once; the order between workers' threads
        // does not matter.
        let served = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        if self.triggered() {
            return;
        }
        if let Some(limit) = self.limits.requests.filter(|limit| served >= *limit) {
            self.recycle(Reason::Requests { served, limit });
        } else if served % u64::from(self.limits.cycle) == 0 {
            if let Some(reason) = self.over_time_or_memory() {
                self.recycle(reason);
            }
        }
    }

    /// Checks every limit now, whatever the request count: for a timer, so that an idle
    /// worker past its lifetime is recycled too. Returns the reason if a limit is reached.
    ///
    /// ```
    /// use std::time::Duration;
    /// # use raindrops_killer::{Policy, Recycler, Trigger};
    /// let policy = Policy::new().max_lifetime(Duration::ZERO, Duration::ZERO);
    /// let recycler = Recycler::new(&policy, |_: &Trigger| {})?;
    /// assert_eq!(recycler.check_now().map(|r| r.label()), Some("lifetime"));
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn check_now(&self) -> Option<Reason> {
        let served = self.served();
        let reason = match self.limits.requests {
            Some(limit) if served >= limit => Some(Reason::Requests { served, limit }),
            _ => self.over_time_or_memory(),
        }?;
        self.recycle(reason);
        Some(reason)
    }

    /// Recycles this worker for `reason` unless it already is; true if this call did it.
    ///
    /// ```
    /// # use raindrops_killer::{Policy, Reason, Recycler, Trigger};
    /// let recycler = Recycler::new(&Policy::new(), |_: &Trigger| {})?;
    /// assert!(recycler.recycle(Reason::Requested));
    /// assert!(!recycler.recycle(Reason::Requested));
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn recycle(&self, reason: Reason) -> bool {
        // AcqRel: exactly one caller wins and calls the adapter.
        if self.triggered.swap(true, Ordering::AcqRel) {
            return false;
        }
        tracing::info!(
            pid = self.pid,
            reason = reason.label(),
            measured = reason.measured(),
            limit = reason.limit(),
            "recycling worker: {reason}"
        );
        self.adapter.recycle(&Trigger { pid: self.pid, reason });
        true
    }

    /// The lifetime then the memory limit, if either is reached.
    fn over_time_or_memory(&self) -> Option<Reason> {
        if let Some(limit) = self.limits.lifetime {
            let age = self.born.elapsed();
            if age >= limit {
                return Some(Reason::Lifetime { age, limit });
            }
        }
        let ((metric, limit), probe) = self.limits.memory.zip(self.probe.as_ref())?;
        // PSS and USS never exceed RSS (hugetlbfs pages aside, which statm does not count):
        // while RSS is within the limit, skip the costly smaps_rollup walk.
        if self.rss.as_ref().and_then(|rss| rss.read().ok()).is_some_and(|rss| rss <= limit) {
            return None;
        }
        match probe.read() {
            Ok(measured) if measured > limit => Some(Reason::Memory { metric, measured, limit }),
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(pid = self.pid, %err, "memory check failed");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use raindrops::memory::MemoryMetric;

    use super::*;

    fn recorder() -> (Arc<Mutex<Vec<Trigger>>>, impl Adapter) {
        let triggers = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&triggers);
        (triggers, move |t: &Trigger| seen.lock().unwrap().push(*t))
    }

    #[test]
    fn memory_is_checked_every_cycle_only() {
        // Any process uses more than 1 byte: the check fails as soon as it runs.
        let limits =
            Limits { memory: Some((MemoryMetric::Rss, 1)), cycle: 16, ..Limits::default() };
        let (triggers, adapter) = recorder();
        let recycler = Recycler::with_limits(limits, adapter).unwrap();
        for _ in 0..15 {
            recycler.response_sent();
        }
        assert!(triggers.lock().unwrap().is_empty());
        recycler.response_sent();
        let triggers = triggers.lock().unwrap();
        assert_eq!(triggers.len(), 1);
        assert!(
            matches!(triggers[0].reason, Reason::Memory { metric: MemoryMetric::Rss, measured, limit: 1 } if measured > 4096)
        );
        assert_eq!(triggers[0].pid, std::process::id());
    }

    #[test]
    fn uss_over_the_limit_is_measured_past_the_rss_shortcut() {
        let limits = Limits { memory: Some((MemoryMetric::Uss, 1)), cycle: 1, ..Limits::default() };
        let (triggers, adapter) = recorder();
        let recycler = Recycler::with_limits(limits, adapter).unwrap();
        assert!(recycler.rss.is_some());
        recycler.response_sent();
        let triggers = triggers.lock().unwrap();
        assert!(
            matches!(triggers[0].reason, Reason::Memory { metric: MemoryMetric::Uss, measured, .. } if measured > 1)
        );
    }

    #[test]
    fn the_adapter_is_called_once_whatever_follows() {
        let limits = Limits {
            requests: Some(4),
            lifetime: Some(Duration::ZERO),
            cycle: 1,
            ..Limits::default()
        };
        let (triggers, adapter) = recorder();
        let recycler = Recycler::with_limits(limits, adapter).unwrap();
        for _ in 0..10 {
            recycler.response_sent();
        }
        assert_eq!(recycler.check_now().map(|r| r.label()), Some("requests"));
        let triggers = triggers.lock().unwrap();
        // The lifetime (0) is reached at the first check, before the request limit.
        assert_eq!(triggers.len(), 1);
        assert_eq!(triggers[0].reason.label(), "lifetime");
        assert_eq!(recycler.served(), 10);
    }

    #[test]
    fn a_generous_limit_never_triggers() {
        let limits = Limits {
            memory: Some((MemoryMetric::Uss, u64::MAX)),
            requests: Some(1_000),
            lifetime: Some(Duration::from_secs(3600)),
            cycle: 1,
        };
        let (triggers, adapter) = recorder();
        let recycler = Recycler::with_limits(limits, adapter).unwrap();
        for _ in 0..999 {
            recycler.response_sent();
        }
        assert_eq!(recycler.check_now(), None);
        assert!(triggers.lock().unwrap().is_empty());
        recycler.response_sent();
        assert_eq!(
            triggers.lock().unwrap()[0].reason,
            Reason::Requests { served: 1000, limit: 1000 }
        );
    }
}
