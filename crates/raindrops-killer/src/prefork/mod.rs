//! Adapter (a): our own prefork supervisor ([`raindrops_prefork`]).
//!
//! * A worker's [`WorkerContext`] is an [`Adapter`]: a trigger asks the master for a
//!   replacement ([`WorkerContext::request_restart`]); the master starts the new worker first,
//!   restarts at most `max_restarting` at a time, and escalates the stop of the old one
//!   (QUIT × 10, TERM × 5, SIGKILL; see [`Builder::escalation`](raindrops_prefork::Builder::escalation)).
//! * [`MemoryBudget`] is a master-side policy for [`Prefork::on_tick`](raindrops_prefork::Prefork::on_tick):
//!   when the workers together use more than a budget, the largest is replaced.
//! * [`RollingRestart`] is another: each worker is replaced once it reaches an age drawn in
//!   `every..=every + jitter`, one at a time.
//! * [`Recycles`] counts recycles by reason in one shared row made before `fork`, so any
//!   worker can show the total.
//! * [`PreforkStats`] wires it all into an HTTP server: every worker's stats, connection
//!   counts and recycles, retired when a worker dies (see `examples/prefork.rs`).
//!
//! ```no_run
//! use raindrops::memory::MemoryMetric;
//! use raindrops_killer::prefork::{MemoryBudget, Recycles};
//! use raindrops_killer::{KillerLayer, Policy, Recycler, Trigger};
//! use raindrops_prefork::{Prefork, WorkerContext};
//!
//! let recycles = Recycles::new()?; // before fork: shared by every worker
//! let budget = MemoryBudget::new(MemoryMetric::Uss, 2 << 30);
//! let counted = recycles.clone();
//! let prefork = Prefork::builder()
//!     .workers(4)
//!     .listen("127.0.0.1:8080".parse()?)
//!     .build()?
//!     .on_tick(std::time::Duration::from_secs(1), move |workers| {
//!         let victims = budget.check(workers);
//!         counted.budget().add(victims.len() as u64);
//!         victims
//!     });
//! let policy = Policy::new().max_memory(MemoryMetric::Uss, 300 << 20..=400 << 20);
//! prefork.run(move |ctx: WorkerContext| {
//!     let recycles = recycles.clone();
//!     let adapter = ctx.clone();
//!     let recycler = Recycler::new(&policy, move |trigger: &Trigger| {
//!         recycles.count(&trigger.reason);
//!         raindrops_killer::Adapter::recycle(&adapter, trigger);
//!     });
//!     async move {
//!         let _layer = KillerLayer::new(recycler.map_err(std::io::Error::other)?);
//!         ctx.shutdown().await; // serve the app with the layer until then
//!         Ok(())
//!     }
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::time::Duration;

use raindrops::memory::MemoryMetric;
use raindrops_prefork::{Replacement, WorkerContext, WorkerInfo};

use crate::recycler::{Adapter, Trigger};

mod stats;

pub use stats::PreforkStats;

impl Adapter for WorkerContext {
    /// Asks the master for a replacement, with the reason for its log; returns at once (one
    /// non-blocking write on a pipe).
    fn recycle(&self, trigger: &Trigger) {
        let reason = format!("{} ({})", trigger.reason.label(), trigger.reason);
        if let Err(err) = self.request_restart(&reason) {
            tracing::error!(pid = trigger.pid, %err, "cannot ask the master for a replacement");
        }
    }
}

raindrops::counters! {
    /// Recycles by reason, in one row of anonymous shared memory: make it in the master
    /// before `fork`, count in any worker (or in the master), read the sum anywhere.
    ///
    /// ```
    /// use raindrops_killer::Reason;
    ///
    /// let recycles = raindrops_killer::prefork::Recycles::new()?;
    /// let memory = Reason::Memory { metric: raindrops::memory::MemoryMetric::Uss, measured: 9, limit: 8 };
    /// recycles.count(&memory);
    /// recycles.count(&memory);
    /// recycles.budget().incr(); // the master's own reasons have their own counters
    /// assert_eq!(recycles.to_map()["memory"], 2);
    /// assert_eq!(recycles.iter().count(), 6);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub struct Recycles {
        /// The memory limit was reached.
        memory: counter,
        /// The request limit was reached.
        requests: counter,
        /// The lifetime was reached.
        lifetime: counter,
        /// Recycling was requested by the app.
        requested: counter,
        /// The master's memory budget across workers was exceeded.
        budget: counter,
        /// The master's rolling restart replaced a worker of its age.
        rolling: counter,
    }
}

impl Recycles {
    /// Counts one recycle a worker's [`Reason`](crate::Reason) triggered (the master's own,
    /// `budget` and `rolling`, are counted on their counters directly).
    ///
    /// ```
    /// use std::time::Duration;
    /// use raindrops_killer::Reason;
    ///
    /// let recycles = raindrops_killer::prefork::Recycles::new()?;
    /// let age = Duration::from_secs(60);
    /// recycles.count(&Reason::Lifetime { age, limit: age });
    /// recycles.count(&Reason::Requested);
    /// assert_eq!((recycles.lifetime().get(), recycles.requested().get()), (1, 1));
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn count(&self, reason: &crate::Reason) {
        let slot = match reason {
            crate::Reason::Memory { .. } => self.memory(),
            crate::Reason::Requests { .. } => self.requests(),
            crate::Reason::Lifetime { .. } => self.lifetime(),
            crate::Reason::Requested => self.requested(),
        };
        slot.incr();
    }
}

/// A memory budget for all workers together, enforced by the master: over budget, the
/// largest worker is replaced (one at a time: nothing more while a replacement is under way).
///
/// ```
/// use raindrops::memory::MemoryMetric;
/// let budget = raindrops_killer::prefork::MemoryBudget::new(MemoryMetric::Uss, 1 << 30);
/// assert_eq!(budget.bytes(), 1 << 30);
/// assert!(budget.check(&[]).is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    metric: MemoryMetric,
    bytes: u64,
}

impl MemoryBudget {
    /// At most `bytes` of `metric`, summed over the workers.
    ///
    /// ```
    /// use raindrops::memory::MemoryMetric;
    /// let budget = raindrops_killer::prefork::MemoryBudget::new(MemoryMetric::Pss, 4 << 30);
    /// assert_eq!(budget.metric(), MemoryMetric::Pss);
    /// ```
    pub fn new(metric: MemoryMetric, bytes: u64) -> Self {
        MemoryBudget { metric, bytes }
    }

    /// The budget in bytes.
    ///
    /// ```
    /// # use raindrops::memory::MemoryMetric;
    /// assert_eq!(raindrops_killer::prefork::MemoryBudget::new(MemoryMetric::Uss, 9).bytes(), 9);
    /// ```
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The metric summed.
    ///
    /// ```
    /// # use raindrops::memory::MemoryMetric;
    /// let budget = raindrops_killer::prefork::MemoryBudget::new(MemoryMetric::Rss, 9);
    /// assert_eq!(budget.metric(), MemoryMetric::Rss);
    /// ```
    pub fn metric(&self) -> MemoryMetric {
        self.metric
    }

    /// Measures the serving workers; over budget, returns the largest with the reason, in the
    /// form [`Prefork::on_tick`](raindrops_prefork::Prefork::on_tick) expects. Workers that
    /// cannot be measured (gone already) count as 0.
    ///
    /// ```
    /// # use raindrops::memory::MemoryMetric;
    /// let budget = raindrops_killer::prefork::MemoryBudget::new(MemoryMetric::Uss, u64::MAX);
    /// assert!(budget.check(&[]).is_empty());
    /// ```
    pub fn check(&self, workers: &[WorkerInfo]) -> Vec<Replacement> {
        self.check_measured(workers, |pid| self.metric.read(pid).ok())
    }

    /// [`check`](Self::check) with each worker's size (in [`metric`](Self::metric)) from
    /// `measured(pid)` instead of a read of its own: for a watcher that has just measured the
    /// workers, so that its metrics and the budget's decision agree. `None` counts as 0.
    ///
    /// ```
    /// use raindrops::memory::MemoryMetric;
    /// use raindrops_prefork::WorkerInfo;
    /// use std::time::Duration;
    ///
    /// let budget = raindrops_killer::prefork::MemoryBudget::new(MemoryMetric::Uss, 100);
    /// let workers = [WorkerInfo::new(0, 11, Duration::ZERO), WorkerInfo::new(1, 12, Duration::ZERO)];
    /// let sizes = |pid| Some(if pid == 12 { 90 } else { 20 });
    /// let picked = budget.check_measured(&workers, sizes);
    /// assert_eq!(picked.iter().map(|r| r.pid).collect::<Vec<_>>(), [12]);
    /// assert!(budget.check_measured(&workers, |_| Some(50)).is_empty());
    /// ```
    pub fn check_measured(
        &self,
        workers: &[WorkerInfo],
        measured: impl Fn(u32) -> Option<u64>,
    ) -> Vec<Replacement> {
        if workers.iter().any(|w| w.replacing) {
            return Vec::new();
        }
        let sizes: Vec<(u32, u64)> = workers
            .iter()
            .filter(|w| w.serving)
            .map(|w| (w.pid, measured(w.pid).unwrap_or(0)))
            .collect();
        self.largest_over(&sizes)
            .map(|(pid, reason)| Replacement::new(pid, reason))
            .into_iter()
            .collect()
    }

    /// Given `(pid, bytes)` per worker: the largest, if the total exceeds the budget.
    fn largest_over(&self, sizes: &[(u32, u64)]) -> Option<(u32, String)> {
        let total: u64 = sizes.iter().map(|(_, bytes)| bytes).sum();
        if total <= self.bytes {
            return None;
        }
        let (pid, largest) = sizes.iter().max_by_key(|(_, bytes)| *bytes)?;
        let reason = format!(
            "budget (workers' {} {total} bytes exceed the budget of {} bytes; this one has {largest})",
            self.metric, self.bytes
        );
        tracing::warn!(pid, total, budget = self.bytes, largest, "memory budget exceeded");
        Some((*pid, reason))
    }
}

/// A rolling restart enforced by the master: every worker is replaced once it has served
/// `every` plus a jitter drawn per worker in `0..=jitter`, one at a time (nothing more while a
/// replacement is under way), so the workers restart in turn and never all at once. Unlike a
/// worker's own `max_lifetime`, it needs nothing from the worker: a stuck one is replaced too.
///
/// ```
/// use std::time::Duration;
/// let mut rolling = raindrops_killer::prefork::RollingRestart::new(
///     Duration::from_secs(3600),
///     Duration::from_secs(300),
/// );
/// assert!(rolling.check(&[]).is_empty());
/// ```
#[derive(Debug)]
pub struct RollingRestart {
    every: Duration,
    jitter: Duration,
    /// Each worker's drawn age limit, by pid (forgotten when the pid is gone).
    limits: HashMap<u32, Duration>,
    rng: fastrand::Rng,
}

impl RollingRestart {
    /// Workers live `every` plus up to `jitter`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let _ = raindrops_killer::prefork::RollingRestart::new(Duration::from_secs(60), Duration::ZERO);
    /// ```
    pub fn new(every: Duration, jitter: Duration) -> Self {
        let seed = u64::from(std::process::id()) ^ raindrops::monotonic_ms();
        RollingRestart {
            every,
            jitter,
            limits: HashMap::new(),
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The oldest serving worker past its age limit, if any and if no replacement is under
    /// way, with the reason, in the form
    /// [`Prefork::on_tick`](raindrops_prefork::Prefork::on_tick) expects.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let mut rolling = raindrops_killer::prefork::RollingRestart::new(Duration::ZERO, Duration::ZERO);
    /// assert!(rolling.check(&[]).is_empty());
    /// ```
    pub fn check(&mut self, workers: &[WorkerInfo]) -> Vec<Replacement> {
        self.limits.retain(|pid, _| workers.iter().any(|w| w.pid == *pid));
        let jitter_ms = u64::try_from(self.jitter.as_millis()).unwrap_or(u64::MAX);
        for worker in workers {
            if !self.limits.contains_key(&worker.pid) {
                let jitter = Duration::from_millis(self.rng.u64(0..=jitter_ms));
                self.limits.insert(worker.pid, self.every.saturating_add(jitter));
            }
        }
        if workers.iter().any(|w| w.replacing) {
            return Vec::new();
        }
        let due =
            |w: &&WorkerInfo| w.serving && self.limits.get(&w.pid).is_some_and(|l| w.age >= *l);
        workers
            .iter()
            .filter(due)
            .max_by_key(|w| w.age)
            .map(|w| w.replace(format!("rolling restart (age {:?})", w.age)))
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_is_picked_only_over_budget() {
        let budget = MemoryBudget::new(MemoryMetric::Uss, 100);
        assert_eq!(budget.largest_over(&[(1, 50), (2, 50)]), None);
        let (pid, reason) = budget.largest_over(&[(1, 40), (2, 61), (3, 0)]).unwrap();
        assert_eq!(pid, 2);
        assert!(reason.starts_with("budget (workers' uss 101 bytes exceed"), "{reason}");
        assert_eq!(budget.largest_over(&[]), None);
    }

    #[test]
    fn a_real_process_over_a_tiny_budget_is_picked() {
        let budget = MemoryBudget::new(MemoryMetric::Rss, 1);
        let pid = std::process::id();
        let sizes = [(pid, MemoryMetric::Rss.read(pid).unwrap())];
        assert_eq!(budget.largest_over(&sizes).map(|(p, _)| p), Some(pid));
    }
}
