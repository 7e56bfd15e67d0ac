//! What a [`Prefork::on_tick`](crate::Prefork::on_tick) hook sees and what it answers: the live
//! workers in, typed replacement requests out.

use std::time::Duration;

/// A hook run by the master every period: see [`Prefork::on_tick`](crate::Prefork::on_tick).
pub(crate) type TickHook = dyn FnMut(&[WorkerInfo]) -> Vec<Replacement>;

/// One live worker, as a [`Prefork::on_tick`](crate::Prefork::on_tick) hook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerInfo {
    /// Its row (see [`WorkerContext::row`](crate::WorkerContext::row)).
    pub row: usize,
    /// Its pid.
    pub pid: u32,
    /// Time since it was forked.
    pub age: Duration,
    /// Whether it serves yet.
    pub serving: bool,
    /// Whether it is already due for replacement.
    pub replacing: bool,
}

impl WorkerInfo {
    /// A worker in `row` with pid `pid`, `age` old, serving and not due for replacement: for
    /// a watcher outside the master (`raindrops recycle`) handing workers it found in `/proc`
    /// to the hooks written for the master (the killer crate's budget and rolling restart).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut worker = raindrops_prefork::WorkerInfo::new(0, 4321, Duration::from_secs(5));
    /// worker.replacing = true;
    /// assert!(worker.serving && worker.replacing);
    /// ```
    pub fn new(row: usize, pid: u32, age: Duration) -> Self {
        WorkerInfo { row, pid, age, serving: true, replacing: false }
    }

    /// A request to replace this worker, for `reason` (which the master logs).
    ///
    /// ```
    /// # fn hook(workers: &[raindrops_prefork::WorkerInfo]) -> Vec<raindrops_prefork::Replacement> {
    /// workers.iter().filter(|w| w.serving).map(|w| w.replace("rolling restart")).collect()
    /// # }
    /// # assert!(hook(&[]).is_empty());
    /// ```
    pub fn replace(&self, reason: impl Into<String>) -> Replacement {
        Replacement::new(self.pid, reason)
    }
}

/// A request from a [`Prefork::on_tick`](crate::Prefork::on_tick) hook: replace the worker
/// with pid `pid`, exactly as if it had called
/// [`WorkerContext::request_restart`](crate::WorkerContext::request_restart) with `reason`.
/// A pid that is not a live worker, or one already being replaced, is ignored.
///
/// ```
/// let replacement = raindrops_prefork::Replacement::new(4242, "too old");
/// assert_eq!((replacement.pid, replacement.reason.as_str()), (4242, "too old"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Replacement {
    /// The worker's pid.
    pub pid: u32,
    /// Why, for the master's log.
    pub reason: String,
}

impl Replacement {
    /// Replace worker `pid` for `reason`.
    ///
    /// ```
    /// let replacement = raindrops_prefork::Replacement::new(7, String::from("budget"));
    /// assert_eq!(replacement.reason, "budget");
    /// ```
    pub fn new(pid: u32, reason: impl Into<String>) -> Self {
        Replacement { pid, reason: reason.into() }
    }
}
