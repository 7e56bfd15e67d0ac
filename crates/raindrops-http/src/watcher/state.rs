//! The Watcher's memory: the latest sample, and per watched address its aggregates, peaks,
//! last reset and recent history (which addresses, within what bounds: [`super::tracked`]).
//! Only the sampler thread writes; handlers read snapshots.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use raindrops::Aggregate;
use tokio::sync::watch;

use crate::exposition::ListenerSample;
use crate::listeners::Listeners;

use super::tracked::{Limits, Tracked};

/// How far back the charts go.
pub(super) const HISTORY_SPAN: Duration = Duration::from_secs(3600);

/// Most points of history kept per address, whatever the delay (an hour at 1 s).
const MAX_HISTORY: usize = 3600;

/// When a number last reached its maximum: the first time it rose to a new maximum, and the
/// last time it reached it again.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peak {
    pub(super) first: SystemTime,
    pub(super) last: SystemTime,
}

/// One watched number (active or queued) of one address.
#[derive(Debug, Clone)]
pub(super) struct Series {
    pub(super) aggregate: Aggregate,
    pub(super) peak: Peak,
}

impl Series {
    pub(super) fn new(since: SystemTime) -> Self {
        Series { aggregate: Aggregate::new(), peak: Peak { first: since, last: since } }
    }

    /// Records `number` at `now`, moving the peak as Ruby raindrops' `aggregate!` does.
    fn record(&mut self, number: u64, now: SystemTime) {
        if let Some(max) = self.aggregate.max() {
            let number = number as i64;
            if number > 0 && number >= max {
                if number > max {
                    self.peak.first = now;
                }
                self.peak.last = now;
            }
        }
        self.aggregate.record(i64::try_from(number).unwrap_or(i64::MAX));
    }
}

/// Everything known about one watched address.
#[derive(Debug, Clone)]
pub(super) struct AddrState {
    pub(super) active: Series,
    pub(super) queued: Series,
    pub(super) reset_at: SystemTime,
    /// `(time, active, queued)`, oldest first, at most [`State::history_len`] points.
    pub(super) history: VecDeque<(SystemTime, u64, u64)>,
    /// The last sample that listed this address.
    pub(super) last_seen: SystemTime,
}

impl AddrState {
    /// An address first listed by the sample of `now`, its numbers counted since `started`.
    pub(super) fn new(started: SystemTime, now: SystemTime) -> Self {
        AddrState {
            active: Series::new(started),
            queued: Series::new(started),
            reset_at: started,
            // Grown as samples come: most addresses of a churning host live a sample or two.
            history: VecDeque::new(),
            last_seen: now,
        }
    }

    /// Records `listener`'s numbers of the sample of `now`, keeping `history_len` points.
    pub(super) fn record(
        &mut self,
        listener: &ListenerSample,
        now: SystemTime,
        history_len: usize,
    ) {
        self.active.record(listener.active, now);
        self.queued.record(listener.queued, now);
        if self.history.len() >= history_len {
            self.history.pop_front();
        }
        self.history.push_back((now, listener.active, listener.queued));
        self.last_seen = now;
    }
}

/// The latest sample of every watched listener.
#[derive(Debug, Clone)]
pub(super) struct Sample {
    pub(super) time: SystemTime,
    pub(super) listeners: Vec<ListenerSample>,
    /// Why the last sample failed, if it did.
    pub(super) error: Option<String>,
}

/// Shared between the sampler thread and the handlers.
#[derive(Debug)]
pub(super) struct State {
    pub(super) started: SystemTime,
    pub(super) delay: Duration,
    addrs: Mutex<Tracked>,
    /// The latest sample; tails wait on it.
    pub(super) latest: watch::Receiver<Arc<Sample>>,
}

impl State {
    /// Points of history kept per address: [`HISTORY_SPAN`] worth of samples, at most
    /// [`MAX_HISTORY`].
    pub(super) fn history_len(&self) -> usize {
        let per_span = HISTORY_SPAN.as_nanos() / self.delay.as_nanos().max(1);
        usize::try_from(per_span).unwrap_or(MAX_HISTORY).clamp(1, MAX_HISTORY)
    }

    pub(super) fn addrs(&self) -> MutexGuard<'_, Tracked> {
        // A handler that panicked while holding the lock left consistent data: each update is
        // a plain assignment of whole values.
        self.addrs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets `addr`'s aggregates and peaks (not its history); false if it is not watched.
    pub(super) fn reset(&self, addr: &[u8]) -> bool {
        let now = SystemTime::now();
        match self.addrs().get_mut(addr) {
            Some(state) => {
                state.active = Series::new(now);
                state.queued = Series::new(now);
                state.reset_at = now;
                true
            }
            None => false,
        }
    }

    fn record(&self, sample: &Sample) {
        let history_len = self.history_len();
        self.addrs().record(sample, self.started, history_len);
    }
}

/// Starts the sampler thread: one query of `listeners` every `delay`, on a fixed schedule
/// (a slow sample does not shift the next ones). It stops when every handle to the state
/// is gone.
pub(super) fn start(
    listeners: Arc<dyn Listeners>,
    delay: Duration,
    limits: Limits,
) -> std::io::Result<Arc<State>> {
    let first = take_sample(&*listeners);
    let (tx, rx) = watch::channel(Arc::new(first.clone()));
    let started = first.time;
    let addrs = Mutex::new(Tracked::new(limits));
    let state = Arc::new(State { started, delay, addrs, latest: rx });
    state.record(&first);
    let weak = Arc::downgrade(&state);
    std::thread::Builder::new().name("raindrops-sampler".into()).spawn(move || {
        let mut next = std::time::Instant::now() + delay;
        loop {
            if let Some(wait) = next.checked_duration_since(std::time::Instant::now()) {
                std::thread::sleep(wait);
            }
            next += delay;
            let Some(state) = weak.upgrade() else { return };
            let sample = take_sample(&*listeners);
            state.record(&sample);
            // No receivers left only means no tail is open: keep sampling.
            let _ = tx.send(Arc::new(sample));
        }
    })?;
    Ok(state)
}

fn take_sample(listeners: &dyn Listeners) -> Sample {
    let time = SystemTime::now();
    match listeners.sample() {
        Ok(listeners) => Sample { time, listeners, error: None },
        Err(err) => Sample { time, listeners: Vec::new(), error: Some(err.to_string()) },
    }
}
