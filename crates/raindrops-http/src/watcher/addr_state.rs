//! What the Watcher remembers of one address: per number ([`Series`]) the aggregate and its
//! [`Peak`], and ([`AddrState`]) the last reset and recent history; and a [`Sample`] of every
//! listener, from which they are recorded.

use std::collections::VecDeque;
use std::time::SystemTime;

use raindrops::Aggregate;

use super::rollup::Rollups;
use crate::exposition::ListenerSample;

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
    /// The oldest queued connection's wait in ms at each sample that measured it (0 when
    /// nothing waited; none for Unix listeners).
    pub(super) wait: Series,
    /// The age in ms of every queued connection at each sample that measured ages, all
    /// counted: the cumulative histogram `/metrics` writes (a connection seen waiting by three
    /// samples is counted three times, with its age at each).
    pub(super) ages: Aggregate,
    pub(super) reset_at: SystemTime,
    /// `(time, active, queued)`, oldest first, at most [`State::history_len`](super::state::State::history_len) points.
    pub(super) history: VecDeque<(SystemTime, u64, u64)>,
    /// The oldest queued connection's wait in ms at each point of `history` (same length,
    /// same order; kept apart so the index's sparklines read `history` untouched): 0 when
    /// nothing waited, `None` where the sample measured no ages (Unix listeners). 8 bytes a
    /// point.
    pub(super) waits: VecDeque<Option<u32>>,
    /// The last sample that listed this address.
    pub(super) last_seen: SystemTime,
    /// The most of each number per 10 s and per minute, for the index's sparklines.
    pub(super) rollups: Rollups,
}

impl AddrState {
    /// An address first listed by the sample of `now`, its numbers counted since `started`.
    pub(super) fn new(started: SystemTime, now: SystemTime) -> Self {
        AddrState {
            active: Series::new(started),
            queued: Series::new(started),
            wait: Series::new(started),
            ages: Aggregate::new(),
            reset_at: started,
            // Grown as samples come: most addresses of a churning host live a sample or two.
            history: VecDeque::new(),
            waits: VecDeque::new(),
            last_seen: now,
            rollups: Rollups::default(),
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
        let oldest_ms = listener.wait.as_ref().map(|wait| wait.oldest_ms().unwrap_or(0));
        if let Some(ms) = oldest_ms {
            self.wait.record(u64::from(ms), now);
        }
        if let Some(wait) = &listener.wait {
            self.ages.extend(wait.ages_ms().iter().map(|&ms| i64::from(ms)));
        }
        if self.history.len() >= history_len {
            self.history.pop_front();
        }
        while self.waits.len() >= history_len {
            self.waits.pop_front();
        }
        self.history.push_back((now, listener.active, listener.queued));
        self.waits.push_back(oldest_ms);
        self.rollups.record(now, listener.active, listener.queued);
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
