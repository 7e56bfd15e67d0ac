//! `serve`'s recycling flags turned into the killer's pieces: the per-worker policy (which
//! [`PreforkStats::killer`](raindrops_killer::prefork::PreforkStats::killer) applies) and the
//! master's memory budget and rolling restart, counted on the recycle counters.

use std::time::Duration;

use raindrops_killer::Policy;
use raindrops_killer::prefork::{MemoryBudget, Recycles, RollingRestart};
use raindrops_prefork::Prefork;

use crate::cli::ServeArgs;

/// How often the master measures the workers against `--memory-budget` and their ages against
/// `--rolling-restart`.
const MASTER_EVERY: Duration = Duration::from_secs(1);

/// What `serve` recycles on, made in the master before fork.
#[derive(Debug, Clone)]
pub(super) struct Recycling {
    policy: Option<Policy>,
    budget: Option<MemoryBudget>,
    /// `(every, jitter)` of `--rolling-restart`.
    rolling: Option<(Duration, Duration)>,
    recycles: Recycles,
}

impl Recycling {
    /// From the flags, counting recycles on `recycles` (mapped before fork).
    pub(super) fn new(args: &ServeArgs, recycles: Recycles) -> Self {
        let metric = args.memory_metric.into();
        let mut policy = Policy::new();
        if let Some(range) = &args.max_memory {
            policy = policy.max_memory(metric, range.clone());
        }
        if let Some(range) = &args.max_requests {
            policy = policy.max_requests(range.clone());
        }
        if let Some(lifetime) = args.max_lifetime {
            policy = policy.max_lifetime(lifetime.base, lifetime.jitter);
        }
        let any =
            args.max_memory.is_some() || args.max_requests.is_some() || args.max_lifetime.is_some();
        Recycling {
            policy: any.then_some(policy),
            budget: args.memory_budget.map(|bytes| MemoryBudget::new(metric, bytes)),
            rolling: args.rolling_restart.map(|d| (d.base, d.jitter)),
            recycles,
        }
    }

    /// Has the master enforce `--memory-budget` and `--rolling-restart`, if given (one
    /// `on_tick` hook every second; the budget goes first, and a replacement it starts holds
    /// the rolling restart back until done).
    pub(super) fn watch_workers(&self, prefork: Prefork) -> Prefork {
        if self.budget.is_none() && self.rolling.is_none() {
            return prefork;
        }
        let (budget, recycles) = (self.budget, self.recycles.clone());
        let mut rolling = self.rolling.map(|(every, jitter)| RollingRestart::new(every, jitter));
        prefork.on_tick(MASTER_EVERY, move |workers| {
            let over = budget.map(|b| b.check(workers)).unwrap_or_default();
            recycles.budget().add(over.len() as u64);
            if !over.is_empty() {
                return over;
            }
            let old = rolling.as_mut().map(|r| r.check(workers)).unwrap_or_default();
            recycles.rolling().add(old.len() as u64);
            old
        })
    }

    /// The worker's policy, if any limit is set.
    pub(super) fn policy(&self) -> Option<&Policy> {
        self.policy.as_ref()
    }
}
