//! The Watcher's memory: the latest sample, and per watched address its aggregates, peaks,
//! last reset and recent history (which addresses, within what bounds: [`super::tracked`]).
//! Only the sampler thread writes; handlers read snapshots.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::listeners::Listeners;

use super::addr_state::{Sample, Series};
use super::tracked::{Limits, Tracked};

/// How far back the charts go.
pub(super) const HISTORY_SPAN: Duration = Duration::from_secs(3600);

/// Most points of history kept per address, whatever the delay (an hour at 1 s).
const MAX_HISTORY: usize = 3600;

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

    /// Forgets `addr`'s aggregates (active, queued, oldest wait and the ages of `/metrics`)
    /// and peaks (not its history); false if it is not watched.
    pub(super) fn reset(&self, addr: &[u8]) -> bool {
        let now = SystemTime::now();
        match self.addrs().get_mut(addr) {
            Some(state) => {
                state.active = Series::new(now);
                state.queued = Series::new(now);
                state.wait = Series::new(now);
                state.ages = raindrops::Aggregate::new();
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
