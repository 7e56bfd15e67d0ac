//! [`SharedWords`]: a plain array of 64-bit atomics in anonymous shared memory, for structures
//! of its own that a crate lays out in words (a name table, packed per-worker values).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::drops::Drops;
use crate::segment::{Layout, SegmentError, SegmentErrorKind, WORDS_PER_SLOT};

/// `len` zeroed `AtomicU64` words in one anonymous `MAP_SHARED` mapping, inherited by `fork`:
/// every process that has a clone (or inherited one) sees the others' stores. The first word
/// starts on a 128-byte boundary, so word `16 * k` always starts a cache line pair of its own.
///
/// Unlike [`Drops`], words are packed: neighbouring words share cache lines. Give each worker
/// its own run of whole 16-word blocks when workers write often.
///
/// ```
/// use std::sync::atomic::Ordering;
///
/// let shared = raindrops::SharedWords::new(20)?;
/// assert_eq!(shared.words().len(), 20);
/// shared.words()[3].fetch_add(2, Ordering::Relaxed);
/// assert_eq!(shared.clone().words()[3].load(Ordering::Relaxed), 2);
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
#[derive(Clone)]
pub struct SharedWords {
    drops: Arc<Drops>,
    len: usize,
}

impl std::fmt::Debug for SharedWords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedWords").field("len", &self.len).finish_non_exhaustive()
    }
}

impl SharedWords {
    /// `len` words, all zero.
    ///
    /// # Errors
    ///
    /// When `mmap` fails or `len` is absurdly large.
    ///
    /// ```
    /// assert_eq!(raindrops::SharedWords::new(1)?.words().len(), 1);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn new(len: usize) -> Result<Self, SegmentError> {
        let slots = len.checked_next_multiple_of(WORDS_PER_SLOT).ok_or_else(|| {
            SegmentError::new(None, SegmentErrorKind::Capacity { requested: len, capacity: 0 })
        })? / WORDS_PER_SLOT;
        Ok(SharedWords { drops: Arc::new(Drops::anonymous_with(slots, Layout::default())?), len })
    }

    /// The words.
    ///
    /// ```
    /// let shared = raindrops::SharedWords::new(2)?;
    /// assert_eq!(shared.words()[1].load(std::sync::atomic::Ordering::Relaxed), 0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[inline]
    pub fn words(&self) -> &[AtomicU64] {
        &self.drops.segment().words()[..self.len]
    }
}
