//! [`Rollups`]: per address, the most active and queued in each of the last [`BUCKETS`]
//! time buckets of 1 s, 10 s and 1 min (epoch-aligned), kept as samples are recorded, so the
//! index draws the sparklines of a thousand listeners (1 min, 10 min, 1 h) without reading
//! their whole history (an hour of it is 3,600 points each).

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// Columns of a sparkline, whatever the window.
pub(super) const BUCKETS: usize = 60;

/// The most active and queued of each column, oldest first; `None` where no sample fell.
pub(super) type Columns = [Option<(u64, u64)>; BUCKETS];

/// The buckets of one width: `(bucket number since the epoch, most active, most queued)`,
/// oldest first, at most [`BUCKETS`].
#[derive(Debug, Clone, Default)]
pub(super) struct Rollup {
    buckets: VecDeque<(u64, u64, u64)>,
}

impl Rollup {
    fn record(&mut self, width_ms: u64, now_ms: u64, active: u64, queued: u64) {
        let bucket = now_ms / width_ms;
        match self.buckets.back_mut() {
            Some(last) if last.0 == bucket => {
                last.1 = last.1.max(active);
                last.2 = last.2.max(queued);
            }
            _ => self.buckets.push_back((bucket, active, queued)),
        }
        while self.buckets.front().is_some_and(|b| b.0 + BUCKETS as u64 <= bucket) {
            self.buckets.pop_front();
        }
    }

    /// The columns of the [`BUCKETS`] buckets of `width_ms` ending with the one of `now_ms`.
    fn columns(&self, width_ms: u64, now_ms: u64) -> Columns {
        let mut out = [None; BUCKETS];
        let now = now_ms / width_ms;
        for &(bucket, active, queued) in &self.buckets {
            if let Some(back) = now.checked_sub(bucket).filter(|back| *back < BUCKETS as u64) {
                out[BUCKETS - 1 - back as usize] = Some((active, queued));
            }
        }
        out
    }
}

/// The rollups of one address.
#[derive(Debug, Clone, Default)]
pub(super) struct Rollups {
    minute: Rollup,
    ten_minutes: Rollup,
    hour: Rollup,
}

/// Milliseconds since the epoch.
fn millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Rollups {
    const MINUTE: u64 = 60_000 / BUCKETS as u64;
    const TEN_MINUTES: u64 = 600_000 / BUCKETS as u64;
    const HOUR: u64 = 3_600_000 / BUCKETS as u64;

    pub(super) fn record(&mut self, now: SystemTime, active: u64, queued: u64) {
        let now = millis(now);
        self.minute.record(Self::MINUTE, now, active, queued);
        self.ten_minutes.record(Self::TEN_MINUTES, now, active, queued);
        self.hour.record(Self::HOUR, now, active, queued);
    }

    /// The columns of the `window` ending at `now`, if it is one rolled up (1 min, 10 min,
    /// 1 h).
    pub(super) fn columns(&self, window: Duration, now: SystemTime) -> Option<Columns> {
        match window.as_secs() {
            60 => Some(self.minute.columns(Self::MINUTE, millis(now))),
            600 => Some(self.ten_minutes.columns(Self::TEN_MINUTES, millis(now))),
            3600 => Some(self.hour.columns(Self::HOUR, millis(now))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_of_seconds_in_sixty_minutes() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 * 60);
        let mut rollups = Rollups::default();
        for s in 0..7200u64 {
            rollups.record(start + Duration::from_secs(s), s % 60, u64::from(s == 7000));
        }
        let now = start + Duration::from_secs(7199);
        let hour = rollups.columns(Duration::from_secs(3600), now).unwrap();
        assert!(hour.iter().all(|c| c.is_some_and(|(a, _)| a == 59)), "{hour:?}");
        // Second 7000 is in minute 116 of 119: column 59 - 3.
        assert_eq!(hour.iter().position(|c| c.is_some_and(|(_, q)| q == 1)), Some(56));
        let ten = rollups.columns(Duration::from_secs(600), now).unwrap();
        assert_eq!(ten[59], Some((59, 0)));
        assert_eq!(ten.iter().filter(|c| c.is_some_and(|(_, q)| q == 1)).count(), 1);
        let minute = rollups.columns(Duration::from_secs(60), now).unwrap();
        assert_eq!(minute.map(|c| c.map(|(a, _)| a)), std::array::from_fn(|i| Some(i as u64)));
        assert!(rollups.columns(Duration::from_secs(30), now).is_none());
        // Nothing older than the window.
        let later = now + Duration::from_secs(3600);
        assert!(
            rollups.columns(Duration::from_secs(3600), later).unwrap().iter().all(Option::is_none)
        );
    }
}
