//! [`Slot`]: one 64-bit counter on its own 128 bytes, the unit of every segment.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes per slot.
pub(crate) const SLOT_SIZE: usize = 128;
/// 64-bit words per slot.
pub(crate) const WORDS_PER_SLOT: usize = SLOT_SIZE / 8;

/// One 64-bit counter on its own 128 bytes.
///
/// A slot is the unit of [`Drops`](crate::Drops): forked processes update it with single atomic
/// instructions, and no two slots ever share a cache line, so processes that update different
/// slots never slow each other down (no false sharing).
///
/// Arithmetic wraps around at `u64::MAX`, like the `unsigned long` counters of Ruby's raindrops:
/// decrementing a zero slot gives `u64::MAX`.
///
/// # Size and alignment
///
/// A slot is 128 bytes on every architecture. Cache lines are 64 bytes on x86_64, but Intel's
/// optimization manual describes the L2 "spatial prefetcher" (adjacent cache line prefetch),
/// which fetches lines in 128-byte aligned pairs, so two counters 64 bytes apart still contend;
/// crossbeam's `CachePadded` uses 128 on x86_64 and aarch64 for the same reason. Since a slot is
/// also a file format, its size does not vary with the CPU it was created on.
///
/// # Layout
///
/// `#[repr(C, align(128))]`: the counter is the first 8 bytes; the other 120 are unused atomic
/// words (so the slot has no padding bytes). Neighbouring slots in a segment are exactly 128
/// bytes apart.
///
/// ```
/// assert_eq!(std::mem::size_of::<raindrops::Slot>(), 128);
/// assert_eq!(std::mem::align_of::<raindrops::Slot>(), 128);
/// ```
#[repr(C, align(128))]
pub struct Slot {
    value: AtomicU64,
    /// The rest of the slot, atomics too, so that the whole slot is interior-mutable memory
    /// that [`Segment::words`](super::Segment::words) may view as packed words.
    pad: [AtomicU64; WORDS_PER_SLOT - 1],
}

impl Default for Slot {
    fn default() -> Self {
        Slot::new(0)
    }
}

const _: () = assert!(std::mem::size_of::<Slot>() == SLOT_SIZE);
const _: () = assert!(std::mem::align_of::<Slot>() == SLOT_SIZE);

// Every operation below uses `Ordering::Relaxed`: a counter is a value on its own, nothing else
// in memory is published through it, so it needs atomicity (no lost updates) but no ordering
// with other memory. Readers that need a consistent view of several slots (worker rows being
// retired) use the segment's retire sequence, which carries its own Acquire/Release ordering.
impl Slot {
    /// A zero slot, for tests and for building slots outside a segment.
    ///
    /// ```
    /// let slot = raindrops::Slot::new(5);
    /// assert_eq!(slot.get(), 5);
    /// ```
    pub const fn new(value: u64) -> Self {
        Slot {
            value: AtomicU64::new(value),
            pad: [const { AtomicU64::new(0) }; WORDS_PER_SLOT - 1],
        }
    }

    /// Adds one and returns the new value.
    ///
    /// ```
    /// let slot = raindrops::Slot::new(0);
    /// assert_eq!(slot.incr(), 1);
    /// ```
    #[inline]
    pub fn incr(&self) -> u64 {
        self.add(1)
    }

    /// Subtracts one and returns the new value (wrapping below zero).
    ///
    /// ```
    /// let slot = raindrops::Slot::new(0);
    /// assert_eq!(slot.decr(), u64::MAX);
    /// ```
    #[inline]
    pub fn decr(&self) -> u64 {
        self.sub(1)
    }

    /// Adds `n` and returns the new value (wrapping).
    ///
    /// ```
    /// let slot = raindrops::Slot::new(u64::MAX);
    /// assert_eq!(slot.add(2), 1);
    /// ```
    #[inline]
    pub fn add(&self, n: u64) -> u64 {
        // Relaxed: a lone counter (see the comment on this impl).
        self.value.fetch_add(n, Ordering::Relaxed).wrapping_add(n)
    }

    /// Subtracts `n` and returns the new value (wrapping).
    ///
    /// ```
    /// let slot = raindrops::Slot::new(10);
    /// assert_eq!(slot.sub(3), 7);
    /// ```
    #[inline]
    pub fn sub(&self, n: u64) -> u64 {
        // Relaxed: a lone counter.
        self.value.fetch_sub(n, Ordering::Relaxed).wrapping_sub(n)
    }

    /// The current value.
    ///
    /// ```
    /// let slot = raindrops::Slot::new(3);
    /// assert_eq!(slot.get(), 3);
    /// ```
    #[inline]
    pub fn get(&self) -> u64 {
        // Relaxed: a lone counter.
        self.value.load(Ordering::Relaxed)
    }

    /// Stores `value`.
    ///
    /// ```
    /// let slot = raindrops::Slot::new(3);
    /// slot.set(9);
    /// assert_eq!(slot.get(), 9);
    /// ```
    #[inline]
    pub fn set(&self, value: u64) {
        // Relaxed: a lone counter.
        self.value.store(value, Ordering::Relaxed)
    }

    /// Stores `value` and returns the previous value, atomically: no concurrent `incr` is lost
    /// between the read and the write.
    ///
    /// ```
    /// let slot = raindrops::Slot::new(3);
    /// assert_eq!(slot.swap(0), 3);
    /// assert_eq!(slot.get(), 0);
    /// ```
    #[inline]
    pub fn swap(&self, value: u64) -> u64 {
        // Relaxed: a lone counter.
        self.value.swap(value, Ordering::Relaxed)
    }
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_slots_are_128_bytes_apart() {
        let slots = [Slot::new(0), Slot::new(1)];
        let a = &slots[0] as *const Slot as usize;
        let b = &slots[1] as *const Slot as usize;
        assert_eq!(b - a, 128);
        assert_eq!(format!("{:?}", slots[1]), "1");
    }
}
