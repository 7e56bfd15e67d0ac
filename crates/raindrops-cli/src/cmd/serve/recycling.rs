//! `serve`'s recycling flags turned into the killer's pieces: the per-worker policy (through
//! the prefork adapter), the master's memory budget, and the recycle counters the endpoint
//! shows.

use std::sync::Arc;
use std::time::Duration;

use raindrops_http::exposition::LabeledCounter;
use raindrops_killer::prefork::{MemoryBudget, Recycles, RollingRestart};
use raindrops_killer::{Adapter, KillerLayer, Policy, Recycler, Trigger};
use raindrops_prefork::{Prefork, WorkerContext};

use crate::cli::ServeArgs;

/// How often the master measures the workers against `--memory-budget` and their ages against
/// `--rolling-restart`.
const MASTER_EVERY: Duration = Duration::from_secs(1);

/// How often an idle worker checks its lifetime (busy ones check every 16 responses).
const LIFETIME_EVERY: Duration = Duration::from_secs(1);

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
    /// From the flags; the recycle counters are mapped here, before fork.
    pub(super) fn new(args: &ServeArgs) -> Result<Self, raindrops::SegmentError> {
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
        Ok(Recycling {
            policy: any.then_some(policy),
            budget: args.memory_budget.map(|bytes| MemoryBudget::new(metric, bytes)),
            rolling: args.rolling_restart.map(|d| (d.base, d.jitter)),
            recycles: Recycles::new()?,
        })
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

    /// The recycle counters as the endpoint shows them (`raindrops_recycles_total{reason}`).
    pub(super) fn counters(&self) -> impl Fn() -> Vec<LabeledCounter> + Send + Sync + 'static {
        let recycles = self.recycles.clone();
        move || {
            vec![LabeledCounter {
                name: "recycles".into(),
                help: "Workers recycled, by reason.".into(),
                label: "reason".into(),
                values: recycles.iter().map(|(reason, n)| (reason.to_owned(), n)).collect(),
            }]
        }
    }

    /// In a worker: the killer layer for its policy, if any (counting each recycle, then
    /// asking the master for a replacement), and a timer so that an idle worker past its
    /// lifetime is recycled too.
    pub(super) fn layer(
        &self,
        ctx: &WorkerContext,
    ) -> Result<Option<KillerLayer>, raindrops_killer::KillerError> {
        let Some(policy) = &self.policy else { return Ok(None) };
        let (recycles, master) = (self.recycles.clone(), ctx.clone());
        let adapter = move |trigger: &Trigger| {
            recycles.count(&trigger.reason);
            master.recycle(trigger);
        };
        let layer = KillerLayer::new(Recycler::new(policy, adapter)?);
        if layer.recycler().limits().lifetime.is_some() {
            tokio::spawn(check_lifetime(Arc::clone(layer.recycler())));
        }
        Ok(Some(layer))
    }
}

/// Checks every limit every second until one is reached.
async fn check_lifetime(recycler: Arc<Recycler>) {
    let mut ticks = tokio::time::interval(LIFETIME_EVERY);
    while !recycler.triggered() {
        ticks.tick().await;
        recycler.check_now();
    }
}
