//! Exponential backoff between respawns of workers that die before they serve.

use std::time::{Duration, Instant};

/// Consecutive failed starts and when the next fork is allowed.
///
/// A worker that dies before it ever served counts as a failed start: the next fork waits
/// `base × 2^(failures − 1)`, capped at `cap`. A worker that reaches serving resets the count.
/// The delay is shared by every row, so N crashing workers cannot fork N times as fast.
#[derive(Debug)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
    not_before: Option<Instant>,
}

impl Backoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        Backoff { base, cap, failures: 0, not_before: None }
    }

    /// The wait after `failures` consecutive failed starts.
    fn delay(&self) -> Duration {
        match self.failures {
            0 => Duration::ZERO,
            n => self.base.saturating_mul(1 << (n - 1).min(30)).min(self.cap),
        }
    }

    /// A worker died before serving, at `now`.
    pub(crate) fn failed(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        self.not_before = Some(now + self.delay());
    }

    /// A worker reached serving: starts are healthy again.
    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
        self.not_before = None;
    }

    /// Whether a fork is allowed at `now`.
    pub(crate) fn allows(&self, now: Instant) -> bool {
        self.not_before.is_none_or(|t| now >= t)
    }

    /// How long until a fork is allowed (zero if it is now).
    pub(crate) fn wait(&self, now: Instant) -> Duration {
        self.not_before.map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(100), ms(1000));
        let t = Instant::now();
        assert!(backoff.allows(t));
        let waits: Vec<_> = (0..6)
            .map(|_| {
                backoff.failed(t);
                backoff.wait(t)
            })
            .collect();
        assert_eq!(waits, [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]);
        assert!(!backoff.allows(t + ms(999)));
        assert!(backoff.allows(t + ms(1000)));
        backoff.succeeded();
        assert!(backoff.allows(t));
        backoff.failed(t);
        assert_eq!(backoff.wait(t), ms(100));
    }

    #[test]
    fn never_overflows() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let t = Instant::now();
        for _ in 0..1000 {
            backoff.failed(t);
        }
        assert_eq!(backoff.wait(t), Duration::from_secs(30));
    }
}
