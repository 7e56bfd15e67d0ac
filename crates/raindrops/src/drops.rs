/*!
[`Drops`]: an array of shared 64-bit counters, one per 128-byte slot.
*/

use std::fmt;
use std::path::Path;

use crate::schema::Field;
use crate::segment::{Access, Layout, Segment, SegmentError, SegmentErrorKind, Slot};

/// An array of 64-bit counters in one `MAP_SHARED` segment, which forked processes update
/// lock-free: the Rust counterpart of Ruby raindrops' `Raindrops` class.
///
/// Each counter sits alone on a 128-byte [`Slot`], so `incr` is one atomic add and processes that
/// update different counters never contend for a cache line.
///
/// # Anonymous or file-backed
///
/// * [`Drops::new`] maps anonymous shared memory. Children forked afterwards share it with the
///   parent; no other process can see it.
/// * [`Drops::create`] makes a file (mode 0600) and maps it; [`Drops::open`] maps an existing
///   one, in any process, started at any time. The counters survive restarts of the processes
///   that use them. The file's header records the slot size, capacity and slots in use, so a
///   file that does not match is a clear [`SegmentError`], never a misread.
///
/// # Limits
///
/// A segment file may be written by someone else, so its header is checked against these limits
/// before anything is mapped or allocated; [`Drops::open`] and
/// [`DropsReader::open`](crate::DropsReader::open) refuse a file beyond one with
/// [`SegmentErrorKind::TooLarge`] naming the field, and new segments are held to them too
/// (anonymous ones to all but the capacity):
///
/// | field | limit |
/// |-------|------:|
/// | header length (the names table and 64 bytes) | 64 KiB |
/// | capacity of a file | 2^20 slots (128 MiB) |
/// | worker rows | 65,536 |
/// | slots per row | 1,024 |
///
/// So no product of header fields can overflow, and reading a whole file touches at most
/// 128 MiB.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let err = raindrops::Drops::create(dir.path().join("big"), (1 << 20) + 1).unwrap_err();
/// assert!(err.to_string().ends_with("capacity is 1048608, above the limit of 1048576"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Indexing
///
/// Out-of-range indexes behave like slice indexing: [`incr`](Drops::incr), [`get`](Drops::get)
/// and the other arithmetic methods **panic** when `index >= len()`, and [`slot`](Drops::slot)
/// is the checked form that returns `None`, like [`slice::get`].
///
/// # Wrapping
///
/// Arithmetic wraps at `u64::MAX` like the `unsigned long` counters of Ruby raindrops.
///
/// # Example
///
/// ```
/// use raindrops::Drops;
///
/// let drops = Drops::new(4)?;
/// drops.incr(0);
/// drops.add(3, 10);
/// assert_eq!(drops.decr(1), u64::MAX);
/// assert_eq!(drops.snapshot(), vec![1, u64::MAX, 0, 10]);
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
///
/// Across `fork` (an example that forks is not run as a doctest):
///
/// ```no_run
/// use raindrops::Drops;
/// use nix::unistd::{fork, ForkResult};
///
/// let drops = Drops::new(1)?;
/// // SAFETY (example): the process is single-threaded here.
/// match unsafe { fork() }? {
///     ForkResult::Child => {
///         drops.incr(0);
///         std::process::exit(0);
///     }
///     ForkResult::Parent { child } => {
///         nix::sys::wait::waitpid(child, None)?;
///         assert_eq!(drops.get(0), 1);
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Drops {
    segment: Segment,
    len: usize,
}

impl Drops {
    /// Maps `len` zeroed counters in anonymous shared memory, shared with children forked later.
    ///
    /// The capacity is `len` rounded up to whole pages (32 slots per 4 KiB page).
    ///
    /// # Errors
    ///
    /// When `mmap` fails or `len` is absurdly large.
    ///
    /// ```
    /// let drops = raindrops::Drops::new(3)?;
    /// assert_eq!(drops.len(), 3);
    /// assert_eq!(drops.capacity() % 32, 0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn new(len: usize) -> Result<Self, SegmentError> {
        Self::from_segment(Segment::anonymous(len, Layout::default())?)
    }

    /// Creates the file `path` (mode 0600) holding `len` zeroed counters, and maps it.
    ///
    /// An existing file at `path` is replaced atomically: the new file is written under a
    /// temporary name and renamed over it, so processes still mapping the old one are unharmed.
    /// To keep the counters of an existing file, use [`Drops::open`].
    ///
    /// # Errors
    ///
    /// When the file cannot be written (missing directory, permissions, disk full).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("counters");
    /// let drops = raindrops::Drops::create(&path, 2)?;
    /// drops.incr(1);
    /// assert_eq!(raindrops::Drops::open(&path)?.get(1), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(path: impl AsRef<Path>, len: usize) -> Result<Self, SegmentError> {
        Self::from_segment(Segment::create(path.as_ref(), len, Layout::default())?)
    }

    /// Maps the existing segment file `path`, for reading and writing. To only read it (with
    /// only read permission), use [`DropsReader`](crate::DropsReader).
    ///
    /// # Errors
    ///
    /// A [`SegmentError`] naming the file when it is missing, not accessible, too short,
    /// foreign (another magic), of another layout version or slot size, or truncated.
    ///
    /// ```
    /// let err = raindrops::Drops::open("/nonexistent").unwrap_err();
    /// assert_eq!(err.kind(), &raindrops::SegmentErrorKind::NotFound);
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SegmentError> {
        Self::from_segment(Segment::open(path.as_ref(), Access::ReadWrite)?)
    }

    pub(crate) fn anonymous_with(len: usize, layout: Layout) -> Result<Self, SegmentError> {
        Self::from_segment(Segment::anonymous(len, layout)?)
    }

    pub(crate) fn create_with(
        path: &Path,
        len: usize,
        layout: Layout,
    ) -> Result<Self, SegmentError> {
        Self::from_segment(Segment::create(path, len, layout)?)
    }

    fn from_segment(segment: Segment) -> Result<Self, SegmentError> {
        Ok(Self::with_segment(segment))
    }

    /// A handle on `segment`, with the length recorded in its header.
    pub(crate) fn with_segment(segment: Segment) -> Self {
        let len = segment.initial_len();
        Drops { segment, len }
    }

    /// The number of counters.
    ///
    /// ```
    /// assert_eq!(raindrops::Drops::new(5)?.len(), 5);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no counters.
    ///
    /// ```
    /// assert!(raindrops::Drops::new(0)?.is_empty());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of counters the segment can hold: [`len`](Drops::len) rounded up to whole
    /// pages. [`resize`](Drops::resize) can grow up to it without remapping.
    ///
    /// ```
    /// let drops = raindrops::Drops::new(33)?;
    /// assert_eq!(drops.capacity(), 64); // two 4 KiB pages of 32 slots
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn capacity(&self) -> usize {
        self.segment.capacity()
    }

    /// Changes the number of counters to `len`, within [`capacity`](Drops::capacity).
    ///
    /// Like Ruby raindrops' `size=`, this changes this handle's view; the new length is also
    /// recorded in a file-backed segment's header for processes that open it later. Counters
    /// keep their values: shrinking and growing again shows the old values.
    ///
    /// # Errors
    ///
    /// [`SegmentErrorKind::Capacity`] when `len > capacity()`.
    ///
    /// ```
    /// let mut drops = raindrops::Drops::new(1)?;
    /// drops.resize(4)?;
    /// assert_eq!(drops.len(), 4);
    /// assert!(drops.resize(drops.capacity() + 1).is_err());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn resize(&mut self, len: usize) -> Result<(), SegmentError> {
        let capacity = self.capacity();
        if len > capacity {
            return Err(SegmentError::new(
                self.path(),
                SegmentErrorKind::Capacity { requested: len, capacity },
            ));
        }
        self.len = len;
        self.segment.store_len(len);
        Ok(())
    }

    /// The slot at `index`, or `None` when `index >= len()` (the checked form of indexing).
    ///
    /// ```
    /// let drops = raindrops::Drops::new(1)?;
    /// assert_eq!(drops.slot(0).map(|s| s.incr()), Some(1));
    /// assert!(drops.slot(1).is_none());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[inline]
    pub fn slot(&self, index: usize) -> Option<&Slot> {
        if index < self.len { self.segment.slots().get(index) } else { None }
    }

    #[inline]
    fn at(&self, index: usize) -> &Slot {
        match self.slot(index) {
            Some(slot) => slot,
            None => out_of_range(index, self.len),
        }
    }

    /// Adds one to counter `index` and returns the new value.
    ///
    /// # Panics
    ///
    /// When `index >= len()`, like slice indexing.
    ///
    /// ```
    /// let drops = raindrops::Drops::new(1)?;
    /// assert_eq!(drops.incr(0), 1);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[inline]
    pub fn incr(&self, index: usize) -> u64 {
        self.at(index).incr()
    }

    /// Subtracts one from counter `index` and returns the new value (wrapping below zero).
    ///
    /// # Panics
    ///
    /// When `index >= len()`.
    ///
    /// ```
    /// let drops = raindrops::Drops::new(1)?;
    /// drops.set(0, 5);
    /// assert_eq!(drops.decr(0), 4);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[inline]
    pub fn decr(&self, index: usize) -> u64 {
        self.at(index).decr()
    }

    /// Adds `n` to counter `index` and returns the new value (wrapping).
    ///
    /// # Panics
    ///
    /// When `index >= len()`.
    ///
    /// ```
    /// let drops = raindrops::Drops::new(1)?;
    /// assert_eq!(drops.add(0, 7), 7);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[inline]
    pub fn add(&self, index: usize, n: u64) -> u64 {
        self.at(index).add(n)
    }

    /// Subtracts `n` from counter `index` and returns the new value (wrapping).
    ///
    /// # Panics
    ///
    /// When `index >= len()`.
    ///
    /// ```
    /// let drops = raindrops::Drops::new(1)?;
    /// assert_eq!(drops.sub(0, 1), u64::MAX);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[inline]
    pub fn sub(&self, index: usize, n: u64) -> u64 {
        self.at(index).sub(n)
    }

    /// The value of counter `index`.
    ///
    /// # Panics
    ///
    /// When `index >= len()`.
    ///
    /// ```
    /// let drops = raindrops::Drops::new(1)?;
    /// assert_eq!(drops.get(0), 0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[inline]
    pub fn get(&self, index: usize) -> u64 {
        self.at(index).get()
    }

    /// Stores `value` in counter `index`.
    ///
    /// # Panics
    ///
    /// When `index >= len()`.
    ///
    /// ```
    /// let drops = raindrops::Drops::new(1)?;
    /// drops.set(0, 42);
    /// assert_eq!(drops.get(0), 42);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[inline]
    pub fn set(&self, index: usize, value: u64) {
        self.at(index).set(value)
    }

    /// The values of all counters, copied into a `Vec` (each value read atomically, the set
    /// not: other processes may update counters while it is taken).
    ///
    /// ```
    /// let drops = raindrops::Drops::new(2)?;
    /// drops.incr(1);
    /// assert_eq!(drops.snapshot(), vec![0, 1]);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn snapshot(&self) -> Vec<u64> {
        self.iter().collect()
    }

    /// Iterates over the counters' current values.
    ///
    /// ```
    /// let drops = raindrops::Drops::new(3)?;
    /// drops.add(2, 5);
    /// assert_eq!(drops.iter().sum::<u64>(), 5);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn iter(&self) -> Iter<'_> {
        Iter::new(&self.segment.slots()[..self.len])
    }

    /// The file behind the segment, or `None` for anonymous memory.
    ///
    /// ```
    /// assert!(raindrops::Drops::new(1)?.path().is_none());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.segment.path()
    }

    /// The named fields recorded in the segment's header (empty for a plain `Drops`; set by
    /// the [`counters!`](crate::counters!) structs and [`Workers`](crate::Workers)).
    ///
    /// ```
    /// assert!(raindrops::Drops::new(1)?.fields().is_empty());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn fields(&self) -> &[Field] {
        &self.segment.layout().fields
    }

    pub(crate) fn segment(&self) -> &Segment {
        &self.segment
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn out_of_range(index: usize, len: usize) -> ! {
    panic!("counter index {index} out of range for raindrops of length {len}")
}

impl fmt::Debug for Drops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drops")
            .field("path", &self.path())
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .field("values", &self.snapshot())
            .finish()
    }
}

/// An iterator over a [`Drops`]' values, from [`Drops::iter`].
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    slots: std::slice::Iter<'a, Slot>,
}

impl<'a> Iter<'a> {
    pub(crate) fn new(slots: &'a [Slot]) -> Self {
        Iter { slots: slots.iter() }
    }
}

impl Iterator for Iter<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.slots.next().map(Slot::get)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Drops {
    type Item = u64;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "counter index 2 out of range for raindrops of length 2")]
    fn out_of_range_panics_like_a_slice() {
        Drops::new(2).unwrap().incr(2);
    }

    #[test]
    fn resize_within_capacity_keeps_values() {
        let mut drops = Drops::new(2).unwrap();
        drops.set(1, 7);
        drops.resize(1).unwrap();
        assert!(drops.slot(1).is_none());
        drops.resize(2).unwrap();
        assert_eq!(drops.get(1), 7);
    }

    #[test]
    fn wraps_like_unsigned_long() {
        let drops = Drops::new(1).unwrap();
        assert_eq!(drops.decr(0), u64::MAX);
        assert_eq!(drops.incr(0), 0);
        assert_eq!(drops.add(0, u64::MAX), u64::MAX);
    }
}
