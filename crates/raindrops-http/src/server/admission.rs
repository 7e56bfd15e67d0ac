//! [`Admission`]: the connection cap, and which connection makes room for a new one.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::time::Instant;

use super::activity::Activity;

/// Connections asked to make room that may still hold their descriptor: beyond the cap by
/// this many, new connections are refused (well within the descriptors the default cap
/// leaves free).
const EVICTING_MAX: usize = 32;

/// The open connections of a server and its cap, shared by its clones.
#[derive(Debug)]
pub(super) struct Admission {
    max: usize,
    table: Mutex<Table>,
}

/// Open connections in slots; a slot is free again when its connection ends.
#[derive(Debug, Default)]
struct Table {
    slots: Vec<Option<Arc<Activity>>>,
    free: Vec<usize>,
    open: usize,
}

impl Admission {
    /// A cap of `max` connections, none open.
    pub(super) fn new(max: usize) -> Self {
        Admission { max, table: Mutex::default() }
    }

    /// Connections open now (those asked to make room included, until they close).
    pub(super) fn open(&self) -> usize {
        self.table.lock().unwrap_or_else(PoisonError::into_inner).open
    }

    /// Admits a connection accepted now: within the cap at once; at the cap, by asking the
    /// open connection that has waited longest for a request head to close; `None` when
    /// every open connection is answering a request or too many are already closing.
    pub(super) fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if table.open >= self.max {
            if table.open >= self.max.saturating_add(EVICTING_MAX) {
                return None;
            }
            let oldest = table
                .slots
                .iter()
                .flatten()
                .filter_map(|activity| Some((activity.waiting_since()?, activity)))
                .min_by_key(|(since, _)| *since)?;
            oldest.1.evict();
        }
        let activity = Arc::new(Activity::new(Instant::now()));
        let slot = match table.free.pop() {
            Some(slot) => {
                table.slots[slot] = Some(Arc::clone(&activity));
                slot
            }
            None => {
                table.slots.push(Some(Arc::clone(&activity)));
                table.slots.len() - 1
            }
        };
        table.open += 1;
        Some(Admitted { admission: Arc::clone(self), slot, activity })
    }
}

/// An admitted connection: its [`Activity`], and its slot, given back on drop.
#[derive(Debug)]
pub(super) struct Admitted {
    admission: Arc<Admission>,
    slot: usize,
    pub(super) activity: Arc<Activity>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut table = self.admission.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.slots[self.slot] = None;
        table.free.push(self.slot);
        table.open -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_longest_waiting_connection_makes_room() {
        let admission = Arc::new(Admission::new(2));
        let first = admission.admit().unwrap();
        let second = admission.admit().unwrap();
        second.activity.busy();
        // The third evicts the first (the only one waiting), the fourth nobody: refused.
        let third = admission.admit().unwrap();
        assert!(first.activity.waiting_since().is_none(), "asked to make room");
        third.activity.busy();
        assert!(admission.admit().is_none());
        assert_eq!(admission.open(), 3);
        drop(first);
        assert_eq!(admission.open(), 2);
        drop((second, third));
        assert_eq!(admission.open(), 0);
        let _again = admission.admit().unwrap();
        assert_eq!(admission.table.lock().unwrap().slots.len(), 3, "slots are reused");
    }

    #[test]
    fn evictions_in_flight_are_bounded() {
        let admission = Arc::new(Admission::new(1));
        let held: Vec<_> = (0..=EVICTING_MAX).map_while(|_| admission.admit()).collect();
        assert_eq!(held.len(), 1 + EVICTING_MAX);
        assert!(admission.admit().is_none());
    }
}
