//! The master's workers as `recycle` follows them: each one's drawn limits, its memory, and
//! the escalation of those being recycled.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use raindrops::memory::{MemoryMetric, MemoryProbe, SmapsRollup};
use raindrops_killer::{Escalation, Escalator, Limits, Policy, Reason, Step, Trigger};

use super::gate::{self, Bound};
use super::pidfd::Pidfd;

/// Why a worker is recycled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// Over its own memory or lifetime limit.
    Limit(Reason),
    /// The largest worker while the workers together exceed the memory budget.
    Budget(String),
    /// Its turn in a rolling restart.
    Rolling(String),
}

impl Cause {
    /// A short name for logs and metrics: `memory`, `lifetime`, `budget`, `rolling`.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Cause::Limit(reason) => reason.label(),
            Cause::Budget(_) => "budget",
            Cause::Rolling(_) => "rolling",
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Limit(reason) => write!(f, "{reason}"),
            Cause::Budget(text) | Cause::Rolling(text) => f.write_str(text),
        }
    }
}

/// What a worker is doing, as `--metrics-listen` and `raindrops top --master` show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Serving, within its limits.
    Serving,
    /// Over a limit (or picked by the budget or the rolling restart) and not signalled: waiting
    /// for its turn under `--max-restarting`, or what a dry run would recycle.
    Due,
    /// Signalled: the escalation is under way until it is gone.
    Recycling,
}

impl State {
    /// Every state, in the order a worker goes through them.
    pub(crate) const ALL: [State; 3] = [State::Serving, State::Due, State::Recycling];

    /// The state's name: `serving`, `due`, `recycling`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::Serving => "serving",
            State::Due => "due",
            State::Recycling => "recycling",
        }
    }
}

/// What is measured of each worker: the metric its limits are on and, for the metrics, the
/// others too (RSS, PSS and USS from one read of `smaps_rollup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Measure {
    /// The metric of `--max-memory` and `--memory-budget`.
    pub(crate) metric: MemoryMetric,
    /// Also every other metric `smaps_rollup` holds (an RSS limit alone reads `statm`).
    pub(crate) all: bool,
    /// Every worker's size every interval, even one far under its limit: the budget sums them.
    pub(crate) budget: bool,
}

/// One worker of the master.
#[derive(Debug)]
pub(crate) struct Worker {
    /// When it started, in ticks after boot: with the pid, its identity.
    pub(crate) start: u64,
    /// Its limits, drawn once when it was first seen.
    pub(crate) limits: Limits,
    /// Its memory by the limits' metric at the last read (`None` before the first, once it
    /// cannot be read, or when its [`Bound`] showed it far under its limit and it was not read).
    pub(crate) memory: Option<u64>,
    /// RSS, PSS and USS at the last read, when read from `smaps_rollup`.
    pub(crate) sizes: Option<SmapsRollup>,
    /// Its age at the last read.
    pub(crate) age: Duration,
    probe: Option<MemoryProbe>,
    /// For a USS or PSS limit without `--metrics-listen`: what spares reading `smaps_rollup`.
    bound: Option<Bound>,
    /// The escalation under way, once it is being recycled.
    recycling: Option<Recycling>,
    /// A dry run already logged what it would do.
    announced: bool,
    /// Due at the last decision, not recycling.
    due: bool,
    /// Due but held back under `--max-restarting`, and logged so (once while it stays due).
    held: bool,
}

/// A worker being recycled: the pidfd it is signalled through and the escalation's next step.
#[derive(Debug)]
struct Recycling {
    pidfd: Pidfd,
    escalator: Escalator,
    /// When the next step is due: steps keep their own schedule, a second apart, whatever
    /// `--interval` is ([`Fleet::next_step`]).
    next: Instant,
    /// When the recycle started, the signals sent so far and the last one, for the log.
    since: Instant,
    signals: u32,
    last: Option<Signal>,
    /// Every signal was sent (SIGKILL last): nothing more to do but wait for the reaping.
    done: bool,
}

/// How early an escalation step may go: the loop wakes for it, but the interval's work may
/// reach it a little before its time.
pub(crate) const STEP_TOLERANCE: Duration = Duration::from_millis(10);

/// The workers, by pid.
#[derive(Debug)]
pub(crate) struct Fleet {
    master: u32,
    policy: Policy,
    measure: Option<Measure>,
    escalation: Escalation,
    pub(crate) workers: BTreeMap<u32, Worker>,
    /// While recycling: the number of workers when the first recycle started, and when the
    /// count last matched it (a replacement the master never starts is given up after a while).
    baseline: Option<(usize, Instant)>,
}

/// How long `recycle` waits for the master to replace a recycled worker before it stops
/// counting the missing worker as one being recycled (a master told to run fewer workers).
const REPLACEMENT_WAIT: Duration = Duration::from_secs(60);

impl Fleet {
    /// Follows the children of `master`, drawing each one's limits from `policy` and
    /// measuring what `measure` says (if a limit or the metrics need memory).
    pub(crate) fn new(
        master: u32,
        policy: Policy,
        measure: Option<Measure>,
        escalation: Escalation,
    ) -> Fleet {
        Fleet { master, policy, measure, escalation, workers: BTreeMap::new(), baseline: None }
    }

    /// Takes in the children just listed: new ones get their limits drawn, gone ones are
    /// forgotten (a gone worker being recycled is done), and measures each.
    pub(crate) fn update(&mut self, children: &[(u32, u64)], uptime: Duration) {
        self.workers.retain(|&pid, w| {
            let listed = children.contains(&(pid, w.start));
            if let Some(r) = w.recycling.as_ref().filter(|_| !listed) {
                let (signals, secs) = (r.signals, r.since.elapsed().as_secs_f64());
                tracing::info!(
                    pid,
                    signals,
                    seconds = secs,
                    "recycle: recycled worker {pid} is gone, after {signals} signal(s) in {secs:.1} s"
                );
            }
            listed
        });
        for &(pid, start) in children {
            if !self.workers.contains_key(&pid) {
                let limits = self.policy.draw().unwrap_or_default();
                let probe = self.measure.and_then(|m| {
                    let rollup = m.all || m.metric != MemoryMetric::Rss;
                    MemoryProbe::new(pid, if rollup { MemoryMetric::Pss } else { m.metric }).ok()
                });
                let bound = self
                    .measure
                    .filter(|m| !m.all && !m.budget)
                    .filter(|m| matches!(m.metric, MemoryMetric::Uss | MemoryMetric::Pss))
                    .filter(|_| limits.memory.is_some())
                    .and_then(|_| Bound::open(pid));
                tracing::info!(
                    pid,
                    limit = limits.memory.map(|(_, l)| l),
                    "recycle: new worker {pid}"
                );
                let worker = Worker {
                    start,
                    limits,
                    memory: None,
                    sizes: None,
                    age: Duration::ZERO,
                    probe,
                    bound,
                    recycling: None,
                    announced: false,
                    due: false,
                    held: false,
                };
                self.workers.insert(pid, worker);
            }
        }
        let metric = self.measure.map(|m| m.metric);
        for worker in self.workers.values_mut() {
            let far_under = worker.limits.memory.zip(worker.bound.as_ref()).is_some_and(
                |((_, limit), bound)| bound.read().is_some_and(|b| gate::far_under(b, limit)),
            );
            (worker.memory, worker.sizes) = match (&worker.probe, metric) {
                _ if far_under => (None, None),
                (Some(probe), Some(metric)) if probe.metric() == MemoryMetric::Pss => {
                    let sizes = probe.read_rollup().ok();
                    (sizes.and_then(|s| s.get(metric)), sizes)
                }
                (Some(probe), _) => (probe.read().ok(), None),
                (None, _) => (None, None),
            };
            worker.age = crate::procfs::age(worker.start, uptime);
        }
    }

    /// Marks the workers just found due (and only those) until they are signalled.
    pub(crate) fn mark_due(&mut self, due: &[(u32, Cause)]) {
        for (pid, worker) in &mut self.workers {
            worker.due = due.iter().any(|(p, _)| p == pid);
            worker.held &= worker.due;
        }
    }

    /// A due worker waits: `in_flight` workers are recycling, the most allowed. Logged once
    /// while it stays due.
    pub(crate) fn hold(&mut self, pid: u32, cause: &Cause, in_flight: usize) {
        if let Some(worker) = self.workers.get_mut(&pid).filter(|w| w.serving())
            && !std::mem::replace(&mut worker.held, true)
        {
            tracing::info!(
                pid,
                reason = cause.label(),
                in_flight,
                "recycle: worker {pid} is due ({cause}) but waits: {in_flight} recycling already (--max-restarting)"
            );
        }
    }

    /// Workers being recycled, counting one whose replacement the master has not started yet.
    pub(crate) fn in_flight(&mut self, now: Instant) -> usize {
        let recycling = self.workers.values().filter(|w| w.recycling.is_some()).count();
        let count = self.workers.len();
        let missing = match &mut self.baseline {
            Some((expected, since)) if count >= *expected => {
                *since = now;
                0
            }
            Some((expected, since)) if now.duration_since(*since) < REPLACEMENT_WAIT => {
                *expected - count
            }
            Some((expected, _)) => {
                tracing::warn!(
                    expected = *expected,
                    count,
                    "recycle: the master did not replace a recycled worker; not waiting for it any more"
                );
                self.baseline = None;
                0
            }
            None => 0,
        };
        if recycling + missing == 0 {
            self.baseline = None;
        }
        recycling + missing
    }

    /// Each worker over its own limits, largest excess first.
    pub(crate) fn over_limits(&self) -> Vec<(u32, Cause)> {
        let mut over: Vec<(u32, u64, Cause)> = Vec::new();
        for (&pid, w) in self.workers.iter().filter(|(_, w)| w.serving()) {
            if let (Some((metric, limit)), Some(measured)) = (w.limits.memory, w.memory)
                && measured > limit
            {
                let reason = Reason::Memory { metric, measured, limit };
                over.push((pid, measured - limit, Cause::Limit(reason)));
            } else if let Some(limit) = w.limits.lifetime.filter(|limit| w.age >= *limit) {
                let reason = Reason::Lifetime { age: w.age, limit };
                over.push((pid, 0, Cause::Limit(reason)));
            }
        }
        over.sort_by_key(|(_, excess, _)| std::cmp::Reverse(*excess));
        over.into_iter().map(|(pid, _, cause)| (pid, cause)).collect()
    }

    /// Worker `pid`'s memory by the limits' metric at the last read.
    pub(crate) fn memory(&self, pid: u32) -> Option<u64> {
        self.workers.get(&pid)?.memory
    }

    /// The workers as raindrops-prefork's master sees its own, for the killer crate's
    /// [`MemoryBudget`](raindrops_killer::prefork::MemoryBudget) and
    /// [`RollingRestart`](raindrops_killer::prefork::RollingRestart): `replacing` when no
    /// more may start now.
    pub(crate) fn infos(&self, replacing: bool) -> Vec<raindrops_prefork::WorkerInfo> {
        let info = |(row, (&pid, w)): (usize, (&u32, &Worker))| {
            let mut info = raindrops_prefork::WorkerInfo::new(row, pid, w.age);
            info.serving = w.serving();
            info.replacing = replacing;
            info
        };
        self.workers.iter().enumerate().map(info).collect()
    }

    /// Starts recycling `pid` (the graceful signal now); with `dry_run`, only logs it once.
    /// Returns whether it started.
    pub(crate) fn recycle(
        &mut self,
        pid: u32,
        cause: &Cause,
        in_flight: usize,
        dry_run: bool,
    ) -> bool {
        let count = self.workers.len();
        let master = self.master;
        let Some(worker) = self.workers.get_mut(&pid).filter(|w| w.serving()) else {
            return false;
        };
        let label = cause.label();
        if dry_run {
            if !std::mem::replace(&mut worker.announced, true) {
                tracing::warn!(
                    pid,
                    reason = label,
                    "recycle: dry run: would recycle worker {pid}: {cause}"
                );
            }
            return false;
        }
        let pidfd = match Pidfd::open_child(pid, worker.start, master) {
            Ok(Some(pidfd)) => pidfd,
            Ok(None) => {
                tracing::info!(
                    pid,
                    "recycle: worker {pid} is gone or no longer the master's child"
                );
                return false;
            }
            Err(err) => {
                tracing::error!(pid, %err, "recycle: cannot open a pidfd for worker {pid}");
                return false;
            }
        };
        let reason = match cause {
            Cause::Limit(reason) => *reason,
            Cause::Budget(_) | Cause::Rolling(_) => Reason::Requested,
        };
        tracing::warn!(
            pid,
            reason = label,
            in_flight = in_flight + 1,
            "recycle: recycling worker {pid}: {cause}"
        );
        let escalator = Escalator::new(self.escalation, Trigger { pid, reason });
        let now = Instant::now();
        worker.recycling = Some(Recycling {
            pidfd,
            escalator,
            next: now,
            since: now,
            signals: 0,
            last: None,
            done: false,
        });
        self.baseline.get_or_insert((count, now));
        true
    }

    /// Sends the next signal to each worker being recycled whose step is due (at `now`,
    /// within [`STEP_TOLERANCE`]), and schedules its next step an escalation interval after
    /// this one's. Returns the signals sent, for the metrics.
    pub(crate) fn escalate(&mut self, now: Instant) -> Vec<Signal> {
        let interval = self.escalation.interval;
        let mut sent = Vec::new();
        for recycling in self.workers.values_mut().filter_map(|w| w.recycling.as_mut()) {
            if recycling.done || now + STEP_TOLERANCE < recycling.next {
                continue;
            }
            // On time: exactly an interval after this step's time; late: an interval from now
            // (minus the tolerance), so that two steps are never closer than an interval.
            recycling.next = (recycling.next + interval).max(now + interval - STEP_TOLERANCE);
            let pidfd = &recycling.pidfd;
            match recycling.escalator.step_with(|_, signal| pidfd.send(signal)) {
                Ok(Step::Sent(signal)) => {
                    recycling.note(signal);
                    sent.push(signal);
                }
                Ok(Step::Gone | Step::Done) => recycling.done = true,
                Err(err) => {
                    let pid = recycling.escalator.trigger().pid;
                    tracing::error!(pid, %err, "recycle: cannot signal worker {pid}");
                    recycling.done = true;
                }
            }
        }
        sent
    }

    /// When the earliest escalation step is due, if any is pending: the loop wakes for it.
    pub(crate) fn next_step(&self) -> Option<Instant> {
        let pending = self.workers.values().filter_map(|w| w.recycling.as_ref());
        pending.filter(|r| !r.done).map(|r| r.next).min()
    }
}

impl Recycling {
    /// Counts `signal`, just sent, logging the escalation's move to another signal.
    fn note(&mut self, signal: Signal) {
        if let Some(last) = self.last.filter(|last| *last != signal) {
            let pid = self.escalator.trigger().pid;
            let signals = self.signals;
            tracing::warn!(
                pid,
                from = last.as_str(),
                to = signal.as_str(),
                "recycle: worker {pid} is still there after {signals} signal(s): escalating from {last} to {signal}"
            );
        }
        self.signals += 1;
        self.last = Some(signal);
    }
}

impl Worker {
    /// Serving: not being recycled.
    pub(crate) fn serving(&self) -> bool {
        self.recycling.is_none()
    }

    /// What it is doing now.
    pub(crate) fn state(&self) -> State {
        match (self.recycling.is_some(), self.due) {
            (true, _) => State::Recycling,
            (false, true) => State::Due,
            (false, false) => State::Serving,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::time::Duration;

    use raindrops::memory::MemoryMetric;
    use raindrops_killer::Policy;

    use super::{Fleet, Measure};

    #[test]
    fn a_worker_far_under_its_uss_limit_is_not_read_from_smaps_rollup() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        while std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap() != "sleep\n" {
            std::thread::sleep(Duration::from_millis(10));
        }
        let start = crate::procfs::stat(pid).unwrap().unwrap().start;
        // `child` as the one worker of a fleet with a USS limit of `limit` bytes, read once.
        let fleet = |limit: u64, all: bool, budget: bool| {
            let policy = Policy::new().max_memory(MemoryMetric::Uss, limit..=limit);
            let measure = Some(Measure { metric: MemoryMetric::Uss, all, budget });
            let escalation = super::super::preset::escalation(None, None, None);
            let mut fleet = Fleet::new(std::process::id(), policy, measure, escalation);
            fleet.update(&[(pid, start)], Duration::ZERO);
            fleet
        };
        // 1 GiB: sleep's RSS shows it far under; its smaps_rollup is not read.
        let far = fleet(1 << 30, false, false);
        assert_eq!(far.workers[&pid].memory, None);
        assert!(far.over_limits().is_empty());
        // 1 byte: its RSS is over 7/8 of that, so its USS is read, and it is over.
        let near = fleet(1, false, false);
        assert!(near.workers[&pid].memory.is_some_and(|uss| uss > 1), "{near:?}");
        assert_eq!(near.over_limits().len(), 1);
        // --metrics-listen shows every size: read whatever the limit.
        let all = fleet(1 << 30, true, false);
        assert!(all.workers[&pid].sizes.is_some(), "{all:?}");
        // --memory-budget sums every worker's USS: read whatever the limit.
        let budget = fleet(1 << 30, false, true);
        assert!(budget.workers[&pid].memory.is_some(), "{budget:?}");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
