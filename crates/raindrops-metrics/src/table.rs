/*!
The name table: a bounded open-addressing hash table of metric keys in shared memory, so a key
registered by any process, before or after `fork`, has one index that every process finds.

# Layout

A header of 16 words (word 0: histograms handed out so far), then `capacity` entries of
[`ENTRY_WORDS`] (64) words:

| word | what |
|-----:|------|
| 0 | state: 0 empty, 1 being written, 2 ready |
| 1 | the key's FNV-1a hash |
| 2 | kind (bits 0..8), name length (8..24), key length (24..40) |
| 3 | histogram number (or `u64::MAX`: none left) |
| 4..64 | the key, `name` or `name{a="x",b="y"}`, 480 bytes at most |

# Registration

Probe from `hash % capacity`. An empty entry is claimed with a compare-and-swap of its state
from empty to *being written*; the winner writes the key and publishes it with a `Release`
store of *ready*. Everyone else reads the state with `Acquire`, so a ready entry's key is
complete; a reader that meets an entry being written waits for it (at most 1 s: a process
killed mid-write leaves it, and it is then skipped). Two processes racing for one key thus
end with one entry: the loser of the CAS waits, sees the winner's key, and uses it.
*/

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use raindrops::{SegmentError, SharedWords};

use crate::error::{RegisterError, RegisterErrorKind};

/// Words per entry.
pub(crate) const ENTRY_WORDS: usize = 64;
/// Words of the header before the first entry.
const HEADER_WORDS: usize = 16;
/// Words of an entry before its key.
const KEY_START: usize = 4;
/// The longest key, in bytes.
pub(crate) const MAX_KEY_BYTES: usize = (ENTRY_WORDS - KEY_START) * 8;

const EMPTY: u64 = 0;
const WRITING: u64 = 1;
const READY: u64 = 2;
const NO_HISTOGRAM: u64 = u64::MAX;

/// How long a reader waits for an entry being written before skipping it.
const WRITE_WAIT: Duration = Duration::from_secs(1);

/// What a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter = 1,
    Gauge = 2,
    Histogram = 3,
}

impl Kind {
    fn from_bits(bits: u64) -> Option<Kind> {
        match bits {
            1 => Some(Kind::Counter),
            2 => Some(Kind::Gauge),
            3 => Some(Kind::Histogram),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A registered key: its entry's index and, for a histogram, its number in the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) index: usize,
    pub(crate) histogram: Option<usize>,
}

/// One ready entry, read back for the exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) slot: Slot,
    pub(crate) kind: Kind,
    pub(crate) name: String,
    pub(crate) labels: String,
}

/// The table; see the [module docs](self).
#[derive(Debug, Clone)]
pub(crate) struct Table {
    words: SharedWords,
    capacity: usize,
    histograms: usize,
}

/// FNV-1a, 64 bits: the same in every process.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

impl Table {
    /// An empty table of `capacity` entries handing out up to `histograms` histogram numbers.
    pub(crate) fn new(capacity: usize, histograms: usize) -> Result<Self, SegmentError> {
        let len = capacity.saturating_mul(ENTRY_WORDS).saturating_add(HEADER_WORDS);
        Ok(Table { words: SharedWords::new(len)?, capacity, histograms })
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    fn entry(&self, index: usize) -> &[AtomicU64] {
        let start = HEADER_WORDS + index * ENTRY_WORDS;
        &self.words.words()[start..start + ENTRY_WORDS]
    }

    /// Finds or adds `key` (`name` or `name{labels}`, `name_len` bytes of name) as a `kind`.
    pub(crate) fn register(
        &self,
        key: &str,
        name_len: usize,
        kind: Kind,
    ) -> Result<Slot, RegisterError> {
        let error = |kind| Err(RegisterError::new(key, kind));
        if key.len() > MAX_KEY_BYTES {
            return error(RegisterErrorKind::KeyTooLong { len: key.len(), max: MAX_KEY_BYTES });
        }
        if self.capacity == 0 {
            return error(RegisterErrorKind::TableFull { capacity: 0 });
        }
        let hash = fnv1a(key.as_bytes());
        let start = (hash % self.capacity as u64) as usize;
        for probe in 0..self.capacity {
            let index = (start + probe) % self.capacity;
            let entry = self.entry(index);
            // Acquire: a ready entry's key, written before its Release store, is visible.
            let mut state = entry[0].load(Ordering::Acquire);
            if state == EMPTY {
                // Acquire on failure: the winner's state; Relaxed suffices on success since
                // only we write this entry until we publish it.
                match entry[0].compare_exchange(
                    EMPTY,
                    WRITING,
                    Ordering::Acquire,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Ok(self.fill(entry, index, hash, key, name_len, kind)),
                    Err(now) => state = now,
                }
            }
            if state == WRITING {
                state = wait_ready(&entry[0]);
            }
            if state != READY || entry[1].load(Ordering::Relaxed) != hash {
                continue;
            }
            if read_key(entry) != key {
                continue;
            }
            let found = self.read_entry(index).map(|e| e.kind);
            return match found {
                Some(k) if k == kind => Ok(self.slot_of(index)),
                Some(k) => error(RegisterErrorKind::KindMismatch {
                    registered: k.name(),
                    wanted: kind.name(),
                }),
                None => continue,
            };
        }
        error(RegisterErrorKind::TableFull { capacity: self.capacity })
    }

    /// Writes a claimed entry and publishes it.
    fn fill(
        &self,
        entry: &[AtomicU64],
        index: usize,
        hash: u64,
        key: &str,
        name_len: usize,
        kind: Kind,
    ) -> Slot {
        // Relaxed: all published by the Release store of the state below.
        entry[1].store(hash, Ordering::Relaxed);
        let meta = kind as u64 | (name_len as u64) << 8 | (key.len() as u64) << 24;
        entry[2].store(meta, Ordering::Relaxed);
        let histogram = if kind == Kind::Histogram {
            // Relaxed: a lone counter handing out numbers.
            let n = self.words.words()[0].fetch_add(1, Ordering::Relaxed);
            if n < self.histograms as u64 { n } else { NO_HISTOGRAM }
        } else {
            NO_HISTOGRAM
        };
        entry[3].store(histogram, Ordering::Relaxed);
        for (word, chunk) in entry[KEY_START..].iter().zip(key.as_bytes().chunks(8)) {
            let mut bytes = [0u8; 8];
            bytes[..chunk.len()].copy_from_slice(chunk);
            word.store(u64::from_ne_bytes(bytes), Ordering::Relaxed);
        }
        entry[0].store(READY, Ordering::Release);
        self.slot_of(index)
    }

    fn slot_of(&self, index: usize) -> Slot {
        // Relaxed: read after an Acquire load of a ready state.
        let histogram = self.entry(index)[3].load(Ordering::Relaxed);
        Slot { index, histogram: (histogram != NO_HISTOGRAM).then_some(histogram as usize) }
    }

    /// Entry `index` if it is ready and well formed.
    fn read_entry(&self, index: usize) -> Option<Entry> {
        let entry = self.entry(index);
        if entry[0].load(Ordering::Acquire) != READY {
            return None;
        }
        let meta = entry[2].load(Ordering::Relaxed);
        let kind = Kind::from_bits(meta & 0xff)?;
        let name_len = (meta >> 8 & 0xffff) as usize;
        let key = read_key(entry);
        let name = key.get(..name_len)?;
        let labels = key.get(name_len..)?;
        let labels = labels.strip_prefix('{').and_then(|l| l.strip_suffix('}')).unwrap_or(labels);
        Some(Entry {
            slot: self.slot_of(index),
            kind,
            name: name.to_owned(),
            labels: labels.to_owned(),
        })
    }

    /// Every ready entry, in table order.
    pub(crate) fn entries(&self) -> Vec<Entry> {
        (0..self.capacity).filter_map(|index| self.read_entry(index)).collect()
    }
}

/// Waits (at most [`WRITE_WAIT`]) for an entry being written to be ready; returns its state.
fn wait_ready(state: &AtomicU64) -> u64 {
    let deadline = Instant::now() + WRITE_WAIT;
    loop {
        let now = state.load(Ordering::Acquire);
        if now != WRITING || Instant::now() >= deadline {
            return now;
        }
        std::thread::yield_now();
    }
}

/// The key bytes of a ready entry (lossy if another process wrote garbage).
fn read_key(entry: &[AtomicU64]) -> String {
    let len = ((entry[2].load(Ordering::Relaxed) >> 24 & 0xffff) as usize).min(MAX_KEY_BYTES);
    let mut bytes = Vec::with_capacity(len.next_multiple_of(8));
    for word in &entry[KEY_START..KEY_START + len.div_ceil(8)] {
        bytes.extend_from_slice(&word.load(Ordering::Relaxed).to_ne_bytes());
    }
    bytes.truncate(len);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_key_and_kind_checked() {
        let table = Table::new(4, 1).unwrap();
        let a = table.register("a", 1, Kind::Counter).unwrap();
        assert_eq!(table.register("a", 1, Kind::Counter).unwrap(), a);
        let b = table.register("a{b=\"1\"}", 1, Kind::Histogram).unwrap();
        assert_eq!(b.histogram, Some(0));
        let err = table.register("a", 1, Kind::Gauge).unwrap_err();
        assert_eq!(err.to_string(), "metric `a` is already registered as a counter, not a gauge");
        let entries = table.entries();
        assert_eq!(entries.len(), 2);
        assert!(
            entries
                .iter()
                .any(|e| e.name == "a" && e.labels == "b=\"1\"" && e.kind == Kind::Histogram)
        );
    }

    #[test]
    fn full_table_and_pool() {
        let table = Table::new(2, 0).unwrap();
        table.register("x", 1, Kind::Counter).unwrap();
        assert_eq!(table.register("h", 1, Kind::Histogram).unwrap().histogram, None);
        let err = table.register("y", 1, Kind::Gauge).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot register metric `y`: the name table is full (2 entries); raise its capacity"
        );
        let long = "n".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(
            table.register(&long, 1, Kind::Counter).unwrap_err().kind(),
            RegisterErrorKind::KeyTooLong { .. }
        ));
    }
}
