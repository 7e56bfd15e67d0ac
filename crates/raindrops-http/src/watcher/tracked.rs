//! Which addresses the Watcher keeps state for, and how memory stays bounded when listeners
//! come and go (a whole host watched, a local user opening and closing listeners by the
//! thousand):
//!
//! * a listener gone from the samples is forgotten after a grace ([`Limits::forget_after`]);
//! * at most [`Limits::max_addresses`] are tracked: to make room, those gone longest are
//!   forgotten first; while every tracked one is still listed, a new address is shown (its
//!   current numbers) but not tracked (no histogram, peaks or history). The first time the cap
//!   bites, one warning is logged;
//! * addresses asked for by name ([`Limits::keep`], the CLI's ADDRs) are always tracked and
//!   never forgotten.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use raindrops::ListenerName;

use crate::exposition::ListenerSample;

use super::addr_state::{AddrState, Sample};

/// The default [`Limits::max_addresses`].
pub(super) const DEFAULT_MAX_ADDRESSES: usize = 4096;

/// The default [`Limits::forget_after`].
pub(super) const DEFAULT_FORGET_AFTER: Duration = Duration::from_secs(60);

/// How much the Watcher may remember.
#[derive(Debug, Clone)]
pub(super) struct Limits {
    /// Most addresses tracked at once (those in [`Self::keep`] included).
    pub(super) max_addresses: usize,
    /// How long a listener no longer listed keeps its state.
    pub(super) forget_after: Duration,
    /// Addresses asked for by name: always tracked, never forgotten.
    pub(super) keep: HashSet<ListenerName>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_addresses: DEFAULT_MAX_ADDRESSES,
            forget_after: DEFAULT_FORGET_AFTER,
            keep: HashSet::new(),
        }
    }
}

/// The state of every tracked address, within [`Limits`].
#[derive(Debug)]
pub(super) struct Tracked {
    /// Boxed: an [`AddrState`] is over a kilobyte, and a map keeps room for more entries than
    /// it holds.
    map: HashMap<ListenerName, Box<AddrState>>,
    limits: Limits,
    /// Whether the cap has bitten (and was logged).
    capped: bool,
}

impl Tracked {
    pub(super) fn new(limits: Limits) -> Self {
        Tracked { map: HashMap::new(), limits, capped: false }
    }

    /// The state of `addr`, if it is tracked.
    pub(super) fn get(&self, addr: &(impl AsRef<[u8]> + ?Sized)) -> Option<&AddrState> {
        self.map.get(addr.as_ref()).map(|state| &**state)
    }

    pub(super) fn get_mut(&mut self, addr: &(impl AsRef<[u8]> + ?Sized)) -> Option<&mut AddrState> {
        self.map.get_mut(addr.as_ref()).map(|state| &mut **state)
    }

    /// Records `sample` (numbers counted since `started`, `history_len` points kept per
    /// address): updates the tracked addresses it lists, forgets those gone longer than the
    /// grace (not after a failed sample), then tracks its new addresses as far as the cap
    /// allows, forgetting those gone longest to make room.
    pub(super) fn record(&mut self, sample: &Sample, started: SystemTime, history_len: usize) {
        let now = sample.time;
        let mut new: Vec<&ListenerSample> = Vec::new();
        for listener in &sample.listeners {
            match self.map.get_mut(&listener.addr) {
                Some(state) => state.record(listener, now, history_len),
                None => new.push(listener),
            }
        }
        if sample.error.is_none() {
            self.forget_gone(now);
        }
        if new.is_empty() {
            return;
        }
        let over = (self.map.len() + new.len()).saturating_sub(self.limits.max_addresses);
        let evicted = self.evict_gone(over, now);
        // Addresses asked for by name first: they are tracked whatever the cap.
        new.sort_by_key(|listener| !self.limits.keep.contains(&listener.addr));
        let mut untracked = 0;
        for listener in new {
            if let Some(state) = self.map.get_mut(&listener.addr) {
                // Listed twice in one sample (SO_REUSEPORT): counted twice, as before.
                state.record(listener, now, history_len);
            } else if self.map.len() < self.limits.max_addresses
                || self.limits.keep.contains(&listener.addr)
            {
                let mut state = Box::new(AddrState::new(started, now));
                state.record(listener, now, history_len);
                self.map.insert(listener.addr.clone(), state);
            } else {
                untracked += 1;
            }
        }
        if (evicted > 0 || untracked > 0) && !self.capped {
            self.capped = true;
            tracing::warn!(
                max_addresses = self.limits.max_addresses,
                evicted,
                untracked,
                "listeners exceed the cap of {} tracked addresses: those gone longest are \
                 forgotten first, new ones are not tracked while every tracked one listens \
                 (raise max_addresses, --max-addresses in the CLI); logged once",
                self.limits.max_addresses
            );
        }
    }

    /// Forgets every address not in [`Limits::keep`] that no sample has listed for longer
    /// than [`Limits::forget_after`].
    fn forget_gone(&mut self, now: SystemTime) {
        let Limits { forget_after, keep, .. } = &self.limits;
        self.map.retain(|addr, state| {
            let expired =
                matches!(now.duration_since(state.last_seen), Ok(gone) if gone > *forget_after);
            !expired || keep.contains(addr)
        });
    }

    /// Forgets up to `count` addresses not in [`Limits::keep`] that the sample of `now` did
    /// not list, those gone longest first; how many it forgot.
    fn evict_gone(&mut self, count: usize, now: SystemTime) -> usize {
        if count == 0 {
            return 0;
        }
        let mut gone: Vec<(SystemTime, &ListenerName)> = self
            .map
            .iter()
            .filter(|(addr, state)| state.last_seen < now && !self.limits.keep.contains(*addr))
            .map(|(addr, state)| (state.last_seen, addr))
            .collect();
        let count = count.min(gone.len());
        if count < gone.len() {
            gone.select_nth_unstable(count);
        }
        let evict: Vec<ListenerName> =
            gone[..count].iter().map(|(_, addr)| (*addr).clone()).collect();
        for addr in &evict {
            self.map.remove(addr);
        }
        count
    }

    /// How many addresses are tracked.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    fn sample(secs: u64, addrs: &[String]) -> Sample {
        let listeners = addrs
            .iter()
            .map(|addr| ListenerSample {
                addr: addr.as_str().into(),
                active: 1,
                queued: 2,
                wait: None,
            })
            .collect();
        Sample { time: at(secs), listeners, error: None }
    }

    fn tracked(max_addresses: usize, forget_after: u64, keep: &[&str]) -> Tracked {
        Tracked::new(Limits {
            max_addresses,
            forget_after: Duration::from_secs(forget_after),
            keep: keep.iter().map(|addr| (*addr).into()).collect(),
        })
    }

    fn addrs(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn churn_never_exceeds_the_cap_and_the_kept_addresses_survive() {
        let keep = ["127.0.0.1:80", "/run/app.sock"];
        let mut t = tracked(16, 3600, &keep);
        // The kept addresses are listed only now and then; 5,000 others come and go in
        // threes, each listed in one sample.
        for n in 0..5_000u64 {
            let mut listed: Vec<String> =
                (0..3).map(|i| format!("127.1.0.1:{}", n * 3 + i + 1)).collect();
            if n % 100 == 0 {
                listed.extend(addrs(&keep));
            }
            t.record(&sample(n, &listed), at(0), 10);
            assert!(t.len() <= 16, "{} tracked after sample {n}", t.len());
            for addr in keep {
                assert!(t.get(addr).is_some(), "{addr} forgotten after sample {n}");
            }
        }
        assert!(t.capped);
        // Each kept address was counted in each of the 50 samples that listed it.
        assert_eq!(t.get("127.0.0.1:80").unwrap().active.aggregate.count(), 50);
    }

    #[test]
    fn room_is_made_from_those_gone_longest() {
        let mut t = tracked(3, 3600, &[]);
        t.record(&sample(1, &addrs(&["a", "b", "c"])), at(0), 10);
        t.record(&sample(2, &addrs(&["a", "b"])), at(0), 10);
        // c has been gone longest.
        t.record(&sample(3, &addrs(&["a", "d"])), at(0), 10);
        assert_eq!(
            (t.get("c").is_none(), t.get("b").is_some(), t.get("d").is_some()),
            (true, true, true)
        );
        t.record(&sample(4, &addrs(&["a", "d", "e"])), at(0), 10);
        assert!(t.get("b").is_none() && t.get("e").is_some());
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn when_every_tracked_one_listens_new_ones_wait_but_kept_ones_do_not() {
        let mut t = tracked(2, 3600, &["k"]);
        t.record(&sample(1, &addrs(&["a", "b"])), at(0), 10);
        t.record(&sample(2, &addrs(&["a", "b", "c", "k"])), at(0), 10);
        // c is not tracked while a and b listen; k, asked for, is, beyond the cap.
        assert!(t.get("c").is_none());
        assert!(t.get("a").is_some() && t.get("b").is_some() && t.get("k").is_some());
        assert!(t.capped);
        // Once a and b are gone, c takes the one place left beside k, which never goes.
        t.record(&sample(3, &addrs(&["c"])), at(0), 10);
        assert!(t.get("a").is_none() && t.get("b").is_none());
        assert!(t.get("c").is_some() && t.get("k").is_some());
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn the_gone_are_forgotten_after_the_grace_except_the_kept() {
        let mut t = tracked(100, 10, &["k"]);
        t.record(&sample(0, &addrs(&["a", "k"])), at(0), 10);
        t.record(&sample(10, &[]), at(0), 10);
        assert!(t.get("a").is_some(), "gone exactly the grace: kept");
        // A failed sample lists nothing and forgets nothing.
        let failed = Sample { time: at(100), listeners: Vec::new(), error: Some("no".into()) };
        t.record(&failed, at(0), 10);
        assert!(t.get("a").is_some());
        t.record(&sample(11, &[]), at(0), 10);
        assert!(t.get("a").is_none(), "gone longer than the grace: forgotten");
        t.record(&sample(100_000, &[]), at(0), 10);
        assert!(t.get("k").is_some(), "asked for: never forgotten");
        assert!(!t.capped);
    }

    #[test]
    fn an_address_listed_twice_is_counted_twice() {
        let mut t = tracked(1, 3600, &[]);
        t.record(&sample(1, &addrs(&["a", "a"])), at(0), 10);
        assert_eq!(t.get("a").unwrap().active.aggregate.count(), 2);
        assert!(!t.capped);
    }
}
