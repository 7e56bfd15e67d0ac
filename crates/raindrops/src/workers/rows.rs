//! [`Workers`]: one row of a counters struct per worker process, in an anonymous or file-backed
//! segment, with retire, heartbeats, pids and sums.

use std::io;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::row::{HEARTBEAT, PID, ROW_EXTRA, check_row_width, monotonic_ms};
use super::seqlock::begin_write;
use super::view::{WorkersSnapshot, WorkersView};
use crate::counters::{FieldValues, Row, Schema, check_fields};
use crate::drops::Drops;
use crate::schema::Kind;
use crate::segment::{Layout, Placement, Segment, SegmentError, SegmentErrorKind};

/// How many times [`Workers::claim`] starts over when the file at its path is replaced under it.
const CLAIM_TRIES: usize = 8;

/// What [`Workers::claim`] does with the counters a previous run left in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Previous {
    /// Keep them: the file must hold the same fields. Every row the previous run left is
    /// retired (its counters folded into the retired row, its gauges, heartbeat and pid
    /// zeroed); with another number of rows, a new file starts with the old totals in its
    /// retired row.
    Keep,
    /// Start from zero: a segment file of any fields or rows is replaced by a new one.
    Reset,
}

/// One row of named counters per worker process, summed for readers.
///
/// `S` is a struct declared with [`counters!`](crate::counters!). Each worker updates its own
/// row through [`Workers::worker`]; readers get the sum over all rows plus the retired row.
///
/// ```
/// use raindrops::Workers;
///
/// raindrops::counters! {
///     pub struct Http {
///         calling: gauge,
///         requests: counter,
///     }
/// }
///
/// let workers = Workers::<Http>::new(2)?;
/// workers.worker(0).requests().add(5);
/// workers.worker(1).requests().add(3);
/// workers.worker(1).calling().incr();
/// assert_eq!(workers.sum(), raindrops::ValuesOf::<Http> { calling: 1, requests: 8 });
///
/// // Worker 1 dies: its requests are kept, its in-flight request is gone.
/// workers.retire(1);
/// assert_eq!((workers.sum().calling, workers.sum().requests), (0, 8));
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
pub struct Workers<S> {
    drops: Arc<Drops>,
    rows: usize,
    width: usize,
    schema: PhantomData<fn() -> S>,
}

impl<S> Clone for Workers<S> {
    fn clone(&self) -> Self {
        Workers {
            drops: Arc::clone(&self.drops),
            rows: self.rows,
            width: self.width,
            schema: PhantomData,
        }
    }
}

impl<S> std::fmt::Debug for Workers<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("rows", &self.rows)
            .field("path", &self.drops.path())
            .finish_non_exhaustive()
    }
}

impl<S: Schema> Workers<S> {
    fn layout(rows: usize) -> Result<(Layout, usize), SegmentErrorKind> {
        let width = S::FIELDS.len() + ROW_EXTRA;
        let too_many =
            || SegmentErrorKind::Capacity { requested: rows, capacity: u32::MAX as usize };
        let rows32 = u32::try_from(rows).map_err(|_| too_many())?;
        let slots = rows.checked_add(1).and_then(|r| r.checked_mul(width)).ok_or_else(too_many)?;
        let layout = Layout { rows: rows32, row_width: width as u32, fields: S::FIELDS.to_vec() };
        Ok((layout, slots))
    }

    fn from_drops(drops: Drops) -> Self {
        let layout = drops.segment().layout();
        let (rows, width) = (layout.rows as usize, layout.row_width as usize);
        Workers { drops: Arc::new(drops), rows, width, schema: PhantomData }
    }

    /// `rows` zeroed rows in anonymous shared memory, shared with workers forked afterwards.
    ///
    /// # Errors
    ///
    /// When `mmap` fails or `rows` is absurdly large.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let workers = raindrops::Workers::<Stats>::new(4)?;
    /// assert_eq!(workers.rows(), 4);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn new(rows: usize) -> Result<Self, SegmentError> {
        let (layout, slots) = Self::layout(rows).map_err(|k| SegmentError::new(None, k))?;
        Ok(Self::from_drops(Drops::anonymous_with(slots, layout)?))
    }

    /// A new segment file of `rows` rows (mode 0600), replacing any file at `path`; other
    /// processes (`raindrops dump`, `raindrops top`) can open it while the workers run. A
    /// supervisor whose counters should survive its restarts, and which must not replace a
    /// file another one uses, calls [`Workers::claim`] instead.
    ///
    /// # Errors
    ///
    /// When the file cannot be written.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// let workers = raindrops::Workers::<Stats>::create(dir.path().join("stats"), 2)?;
    /// workers.worker(1).hits().incr();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(path: impl AsRef<Path>, rows: usize) -> Result<Self, SegmentError> {
        let path = path.as_ref();
        let (layout, slots) = Self::layout(rows).map_err(|k| SegmentError::new(Some(path), k))?;
        Ok(Self::from_drops(Drops::create_with(path, slots, layout)?))
    }

    /// Maps an existing workers file; its fields must be exactly `S`'s.
    ///
    /// # Errors
    ///
    /// Everything [`Drops::open`] reports, plus [`SegmentErrorKind::SchemaMismatch`] for other
    /// fields and [`SegmentErrorKind::Corrupt`] for a file without worker rows.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("stats");
    /// raindrops::Workers::<Stats>::create(&path, 2)?.worker(0).hits().incr();
    /// let reader = raindrops::Workers::<Stats>::open(&path)?;
    /// assert_eq!(reader.sum().hits, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SegmentError> {
        let path = path.as_ref();
        let drops = Drops::open(path)?;
        check_fields(&drops, S::FIELDS)?;
        check_row_width(drops.segment())?;
        if drops.segment().layout().rows == 0 {
            return Err(SegmentError::new(
                Some(path),
                SegmentErrorKind::Corrupt { reason: "not a workers segment (no rows)".into() },
            ));
        }
        Ok(Self::from_drops(drops))
    }

    /// The segment file at `path` for this process and the workers it forks, and no one else:
    /// what a supervisor's master calls, so that its counters survive its restarts.
    ///
    /// * No file at `path`: a new one (mode 0600), as [`Workers::create`] makes.
    /// * A segment file left by a previous run: reused as `previous` says.
    /// * A file that is not a raindrops segment, or that another live process has claimed, is
    ///   refused and left untouched: [`SegmentErrorKind::BadMagic`] (and the other format
    ///   errors of [`Drops::open`]), [`SegmentErrorKind::Locked`] naming the holder.
    ///
    /// The claim is an exclusive `flock` on the file, held as long as any process of the tree
    /// (this one or a child forked with the segment) keeps it open, and released when they have
    /// all exited; readers (`raindrops dump`, `top`, [`Workers::open`]) do not take it.
    ///
    /// # Errors
    ///
    /// Those above; [`SegmentErrorKind::SchemaMismatch`] for a file of other fields with
    /// [`Previous::Keep`]; [`SegmentErrorKind::NoDirectory`] when the directory is missing.
    ///
    /// ```
    /// use raindrops::{Previous, SegmentErrorKind, Workers};
    ///
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("stats");
    /// let first = Workers::<Stats>::claim(&path, 2, Previous::Keep)?;
    /// first.worker(1).hits().add(5);
    ///
    /// // While it is claimed, no one else may claim it.
    /// let err = Workers::<Stats>::claim(&path, 2, Previous::Keep).unwrap_err();
    /// assert!(matches!(err.kind(), SegmentErrorKind::Locked { .. }));
    ///
    /// // Once released, the next run keeps the counters, in the retired row.
    /// drop(first);
    /// let second = Workers::<Stats>::claim(&path, 3, Previous::Keep)?;
    /// assert_eq!(second.sum().hits, 5);
    /// assert_eq!(second.worker(1).hits().get(), 0);
    /// drop(second);
    /// assert_eq!(Workers::<Stats>::claim(&path, 3, Previous::Reset)?.sum().hits, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn claim(
        path: impl AsRef<Path>,
        rows: usize,
        previous: Previous,
    ) -> Result<Self, SegmentError> {
        let path = path.as_ref();
        let (layout, slots) = Self::layout(rows).map_err(|k| SegmentError::new(Some(path), k))?;
        for _ in 0..CLAIM_TRIES {
            let Some(old) = Segment::open_claimed(path)? else {
                match Segment::create_placed(path, slots, layout.clone(), Placement::NewLocked)? {
                    Some(new) => return Ok(Self::from_drops(Drops::with_segment(new))),
                    // Another process made one meanwhile: claim that one.
                    None => continue,
                }
            };
            let old = Drops::with_segment(old);
            let mut carried = None;
            if previous == Previous::Keep {
                check_fields(&old, S::FIELDS)?;
                check_row_width(old.segment())?;
                let Some(view) = WorkersView::new(old.segment(), old.len()) else {
                    let reason = "not a workers segment (no rows)".into();
                    return Err(SegmentError::new(
                        Some(path),
                        SegmentErrorKind::Corrupt { reason },
                    ));
                };
                if view.rows() == rows {
                    let workers = Self::from_drops(old);
                    for row in 0..rows {
                        workers.retire(row);
                    }
                    return Ok(workers);
                }
                carried = Some(view.totals().total);
            }
            // A new file replaces the old one, whose lock is held until it is replaced.
            let new = Segment::create_placed(path, slots, layout, Placement::ReplaceLocked)?
                .map(|segment| Self::from_drops(Drops::with_segment(segment)));
            let Some(workers) = new else { break };
            for (i, total) in carried.into_iter().flatten().enumerate() {
                if S::FIELDS[i].kind == Kind::Counter {
                    workers.retired().row().slot(i).set(total);
                }
            }
            return Ok(workers);
        }
        let replaced = io::Error::other(
            "the path kept changing while it was claimed (another process replacing the file, \
             or a dangling symbolic link)",
        );
        Err(SegmentError::io_at(path, replaced))
    }

    /// The number of worker rows (not counting the retired row).
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// assert_eq!(raindrops::Workers::<Stats>::new(3)?.rows(), 3);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }

    fn row(&self, index: usize) -> Row {
        Row::new(Arc::clone(&self.drops), index * self.width, self.width)
    }

    /// Worker `index`'s counters.
    ///
    /// # Panics
    ///
    /// When `index >= rows()`, like slice indexing; [`Workers::get`] is the checked form.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let workers = raindrops::Workers::<Stats>::new(1)?;
    /// assert_eq!(workers.worker(0).hits().incr(), 1);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn worker(&self, index: usize) -> S {
        match self.get(index) {
            Some(row) => row,
            None => panic!("worker index {index} out of range for {} rows", self.rows),
        }
    }

    /// Worker `index`'s counters, or `None` when `index >= rows()`.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let workers = raindrops::Workers::<Stats>::new(1)?;
    /// assert!(workers.get(1).is_none());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn get(&self, index: usize) -> Option<S> {
        (index < self.rows).then(|| S::from_row(self.row(index)))
    }

    /// The retired row: the counters of every worker retired so far.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let workers = raindrops::Workers::<Stats>::new(1)?;
    /// workers.worker(0).hits().add(4);
    /// workers.retire(0);
    /// assert_eq!(workers.retired().hits().get(), 4);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn retired(&self) -> S {
        S::from_row(self.row(self.rows))
    }

    fn extra(&self, index: usize, which: usize) -> &crate::Slot {
        assert!(index < self.rows, "worker index {index} out of range for {} rows", self.rows);
        match self.drops.slot(index * self.width + S::FIELDS.len() + which) {
            Some(slot) => slot,
            // The constructors made room for `rows + 1` rows of `width` slots.
            None => unreachable!("worker row extends past its segment"),
        }
    }

    /// Records that worker `index` is alive now (its heartbeat, in [`monotonic_ms`]).
    ///
    /// # Panics
    ///
    /// When `index >= rows()`.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let workers = raindrops::Workers::<Stats>::new(1)?;
    /// assert_eq!(workers.heartbeat_age(0), None);
    /// workers.beat(0);
    /// assert!(workers.heartbeat_age(0).unwrap() < std::time::Duration::from_secs(1));
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn beat(&self, index: usize) {
        self.extra(index, HEARTBEAT).set(monotonic_ms().max(1));
    }

    /// How long ago worker `index` last called [`beat`](Workers::beat); `None` if it never did
    /// (or was retired since).
    ///
    /// # Panics
    ///
    /// When `index >= rows()`.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let workers = raindrops::Workers::<Stats>::new(1)?;
    /// assert!(workers.heartbeat_age(0).is_none());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn heartbeat_age(&self, index: usize) -> Option<Duration> {
        let beat = self.extra(index, HEARTBEAT).get();
        (beat != 0).then(|| Duration::from_millis(monotonic_ms().saturating_sub(beat)))
    }

    /// Records the pid of the process that owns row `index` (shown by `dump` and `top`).
    ///
    /// # Panics
    ///
    /// When `index >= rows()`.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let workers = raindrops::Workers::<Stats>::new(1)?;
    /// workers.set_pid(0, std::process::id());
    /// assert_eq!(workers.pid(0), Some(std::process::id()));
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn set_pid(&self, index: usize, pid: u32) {
        self.extra(index, PID).set(u64::from(pid));
    }

    /// The pid recorded for row `index`, if any.
    ///
    /// # Panics
    ///
    /// When `index >= rows()`.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// assert_eq!(raindrops::Workers::<Stats>::new(1)?.pid(0), None);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn pid(&self, index: usize) -> Option<u32> {
        u32::try_from(self.extra(index, PID).get()).ok().filter(|&pid| pid != 0)
    }

    /// Folds worker `index`'s counters into the retired row, zeroes its gauges, heartbeat and
    /// pid. Call it when the worker has died (a supervisor does, after `waitpid`); the row is then
    /// ready for a new worker.
    ///
    /// Each counter is moved with an atomic swap, so even an increment racing with the retire
    /// is never lost. Readers never see a counter's sum go down (see the module docs).
    ///
    /// # Panics
    ///
    /// When `index >= rows()`.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { busy: gauge, hits: counter } }
    /// let workers = raindrops::Workers::<Stats>::new(2)?;
    /// workers.worker(0).hits().add(2);
    /// workers.worker(0).busy().incr();
    /// workers.retire(0);
    /// assert_eq!((workers.sum().busy, workers.sum().hits), (0, 2));
    /// assert_eq!(workers.worker(0).hits().get(), 0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn retire(&self, index: usize) {
        let row = self.worker(index);
        let retired = self.retired();
        let seq = self.drops.segment().seq();
        let odd = begin_write(seq);
        for (i, field) in S::FIELDS.iter().enumerate() {
            let value = row.row().slot(i).swap(0);
            if field.kind == Kind::Counter {
                retired.row().slot(i).add(value);
            }
        }
        self.extra(index, HEARTBEAT).set(0);
        self.extra(index, PID).set(0);
        // Release: the moves above are visible to a reader that sees the even number.
        seq.store(odd.wrapping_add(1), Ordering::Release);
    }

    /// The sum over all rows, one field per counter ([`ValuesOf<S>`](crate::ValuesOf)):
    /// counters include the retired row. [`FieldValues::iter`] gives the `(name, value)` pairs
    /// in declaration order.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let workers = raindrops::Workers::<Stats>::new(2)?;
    /// workers.worker(0).hits().incr();
    /// workers.worker(1).hits().incr();
    /// assert_eq!(workers.sum().hits, 2);
    ///
    /// use raindrops::FieldValues;
    /// assert_eq!(workers.sum().iter().collect::<Vec<_>>(), [("hits", 2)]);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn sum(&self) -> S::Values {
        S::Values::from_slice(&self.snapshot().total)
    }

    /// Every row's values, the retired row and the sum, read consistently with retires.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let workers = raindrops::Workers::<Stats>::new(2)?;
    /// workers.worker(1).hits().add(3);
    /// let snap = workers.snapshot();
    /// assert_eq!(snap.workers[1].values, [3]);
    /// assert_eq!(snap.total, [3]);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn snapshot(&self) -> WorkersSnapshot {
        match WorkersSnapshot::of(&self.drops) {
            Some(snapshot) => snapshot,
            // `open` and the constructors made sure the segment has rows.
            None => unreachable!("a Workers segment without rows"),
        }
    }

    /// The segment behind the rows.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let workers = raindrops::Workers::<Stats>::new(2)?;
    /// assert_eq!(workers.drops().fields().len(), 1);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn drops(&self) -> &Drops {
        &self.drops
    }
}
