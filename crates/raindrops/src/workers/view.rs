//! Reading worker rows whatever their fields, from the schema in the header: [`WorkersView`]
//! in place, [`WorkersSnapshot`] copied, both consistent with retires.

use super::row::{HEARTBEAT, PID};
use super::seqlock::read_consistent;
use crate::drops::Drops;
use crate::schema::{Field, Kind};
use crate::segment::Segment;

/// One worker row as read by [`Workers::snapshot`](crate::Workers::snapshot) or [`WorkersSnapshot::of`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSnapshot {
    /// The row's index.
    pub index: usize,
    /// The worker's pid, if it recorded one.
    pub pid: Option<u32>,
    /// The worker's last heartbeat in [`monotonic_ms`](crate::monotonic_ms), if it ever beat.
    pub heartbeat_ms: Option<u64>,
    /// The fields' values, in declaration order.
    pub values: Vec<u64>,
}

/// All rows of a workers segment, read at one point of its retire history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkersSnapshot {
    /// The fields, in declaration order.
    pub fields: Vec<Field>,
    /// One entry per worker row.
    pub workers: Vec<RowSnapshot>,
    /// The retired row's values (gauges are always 0 there).
    pub retired: Vec<u64>,
    /// Per field: the sum of every worker row, plus the retired row for counters.
    pub total: Vec<u64>,
}

impl WorkersSnapshot {
    /// Reads any workers segment, whatever its fields, from the schema in its header; `None` if
    /// `drops` is not split into worker rows. This is how `raindrops dump` reads a file.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("stats");
    /// raindrops::Workers::<Stats>::create(&path, 1)?.worker(0).hits().incr();
    ///
    /// let drops = raindrops::Drops::open(&path)?;
    /// let snap = raindrops::WorkersSnapshot::of(&drops).expect("a workers file");
    /// assert_eq!(snap.fields[0].name, "hits");
    /// assert_eq!(snap.total, [1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of(drops: &Drops) -> Option<WorkersSnapshot> {
        WorkersView::new(drops.segment(), drops.len()).map(|view| view.snapshot())
    }
}

/// The sums of a workers segment, from [`WorkersView::totals`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkersTotals {
    /// The retired row's values (gauges are always 0 there).
    pub retired: Vec<u64>,
    /// Per field: the sum of every worker row, plus the retired row for counters.
    pub total: Vec<u64>,
}

/// The worker rows of a segment read in place, one at a time, without copying them all: what
/// `raindrops dump` streams. From [`DropsReader::workers`](crate::DropsReader::workers).
///
/// ```
/// raindrops::counters! { struct Stats { hits: counter } }
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("stats");
/// let workers = raindrops::Workers::<Stats>::create(&path, 2)?;
/// workers.worker(1).hits().add(2);
/// workers.retire(1);
/// workers.worker(0).hits().incr();
///
/// let reader = raindrops::DropsReader::open(&path)?;
/// let view = reader.workers().expect("a workers file");
/// assert_eq!(view.rows(), 2);
/// assert_eq!(view.totals().total, [3]);
/// assert_eq!(view.iter().map(|row| row.values[0]).collect::<Vec<_>>(), [1, 0]);
/// assert_eq!(view.value(0, 0), Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WorkersView<'a> {
    segment: &'a Segment,
    rows: usize,
    width: usize,
}

impl<'a> WorkersView<'a> {
    /// The rows of `segment`'s first `len` slots, or `None` if it has no rows.
    pub(crate) fn new(segment: &'a Segment, len: usize) -> Option<Self> {
        let layout = segment.layout();
        let (rows, width) = (layout.rows as usize, layout.row_width as usize);
        // The header was checked (or written by us): (rows + 1) * width <= len <= capacity,
        // and width >= fields + ROW_EXTRA.
        (rows > 0 && (rows + 1) * width <= len).then_some(WorkersView { segment, rows, width })
    }

    /// The fields, in declaration order.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// raindrops::Workers::<Stats>::create(dir.path().join("s"), 1)?;
    /// let reader = raindrops::DropsReader::open(dir.path().join("s"))?;
    /// assert_eq!(reader.workers().unwrap().fields()[0].name, "hits");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fields(&self) -> &'a [Field] {
        &self.segment.layout().fields
    }

    /// The number of worker rows (not counting the retired row).
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// raindrops::Workers::<Stats>::create(dir.path().join("s"), 3)?;
    /// let reader = raindrops::DropsReader::open(dir.path().join("s"))?;
    /// assert_eq!(reader.workers().unwrap().rows(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Slot `field` (a field or an extra slot) of row `row` (`rows()` is the retired row).
    fn slot(&self, row: usize, field: usize) -> u64 {
        self.segment.slots()[row * self.width + field].get()
    }

    /// The value of field `field` in worker row `row`, or `None` when either is out of range.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// raindrops::Workers::<Stats>::create(dir.path().join("s"), 1)?.worker(0).hits().add(4);
    /// let reader = raindrops::DropsReader::open(dir.path().join("s"))?;
    /// let view = reader.workers().unwrap();
    /// assert_eq!((view.value(0, 0), view.value(1, 0), view.value(0, 1)), (Some(4), None, None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value(&self, row: usize, field: usize) -> Option<u64> {
        (row < self.rows && field < self.fields().len()).then(|| self.slot(row, field))
    }

    /// Worker row `index`, read consistently with retires; `None` when out of range.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// let workers = raindrops::Workers::<Stats>::create(dir.path().join("s"), 1)?;
    /// workers.set_pid(0, 42);
    /// let reader = raindrops::DropsReader::open(dir.path().join("s"))?;
    /// assert_eq!(reader.workers().unwrap().row(0).unwrap().pid, Some(42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn row(&self, index: usize) -> Option<RowSnapshot> {
        (index < self.rows).then(|| read_consistent(self.segment.seq(), || self.read_row(index)))
    }

    fn read_row(&self, index: usize) -> RowSnapshot {
        let n = self.fields().len();
        RowSnapshot {
            index,
            pid: u32::try_from(self.slot(index, n + PID)).ok().filter(|&pid| pid != 0),
            heartbeat_ms: Some(self.slot(index, n + HEARTBEAT)).filter(|&ms| ms != 0),
            values: (0..n).map(|i| self.slot(index, i)).collect(),
        }
    }

    /// Every worker row in order, each read when the iterator reaches it.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// raindrops::Workers::<Stats>::create(dir.path().join("s"), 2)?.worker(1).hits().incr();
    /// let reader = raindrops::DropsReader::open(dir.path().join("s"))?;
    /// let hits: Vec<u64> = reader.workers().unwrap().iter().map(|r| r.values[0]).collect();
    /// assert_eq!(hits, [0, 1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = RowSnapshot> + 'a {
        let view = *self;
        (0..self.rows).filter_map(move |index| view.row(index))
    }

    /// The retired row's values and the sums, read consistently with retires, without copying
    /// the rows.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { busy: gauge, hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// let workers = raindrops::Workers::<Stats>::create(dir.path().join("s"), 2)?;
    /// workers.worker(0).hits().add(2);
    /// workers.retire(0);
    /// workers.worker(1).busy().incr();
    /// let reader = raindrops::DropsReader::open(dir.path().join("s"))?;
    /// let totals = reader.workers().unwrap().totals();
    /// assert_eq!((totals.retired, totals.total), (vec![0, 2], vec![1, 2]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn totals(&self) -> WorkersTotals {
        let fields = self.fields();
        read_consistent(self.segment.seq(), || {
            let retired: Vec<u64> = (0..fields.len()).map(|i| self.slot(self.rows, i)).collect();
            let total = totals(fields, self.rows, &retired, |row, i| self.slot(row, i));
            WorkersTotals { retired, total }
        })
    }

    /// Every row, the retired row and the sums, copied at one point of the retire history.
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// raindrops::Workers::<Stats>::create(dir.path().join("s"), 2)?.worker(1).hits().incr();
    /// let reader = raindrops::DropsReader::open(dir.path().join("s"))?;
    /// let snap = reader.workers().unwrap().snapshot();
    /// assert_eq!((snap.workers.len(), snap.total.clone()), (2, vec![1]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot(&self) -> WorkersSnapshot {
        let fields = self.fields();
        let n = fields.len();
        let (workers, retired) = read_consistent(self.segment.seq(), || {
            let rows: Vec<RowSnapshot> = (0..self.rows).map(|i| self.read_row(i)).collect();
            let retired: Vec<u64> = (0..n).map(|i| self.slot(self.rows, i)).collect();
            (rows, retired)
        });
        let total = totals(fields, workers.len(), &retired, |row, i| workers[row].values[i]);
        WorkersSnapshot { fields: fields.to_vec(), workers, retired, total }
    }
}

/// Per field: the sum of `value(row, field)` over `rows` rows, plus the retired row's value for
/// counters (wrapping, like the counters themselves).
fn totals(
    fields: &[Field],
    rows: usize,
    retired: &[u64],
    value: impl Fn(usize, usize) -> u64,
) -> Vec<u64> {
    (0..fields.len())
        .map(|i| {
            let live = (0..rows).fold(0u64, |sum, row| sum.wrapping_add(value(row, i)));
            match fields[i].kind {
                Kind::Counter => live.wrapping_add(retired[i]),
                Kind::Gauge => live,
            }
        })
        .collect()
}
