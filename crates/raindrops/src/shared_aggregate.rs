/*!
[`SharedAggregate`]: statistics of integer samples recorded lock-free by many forked processes,
with percentiles.

# Layout

The aggregate lives in an anonymous shared segment made before `fork`. Each worker records into
its own row, and readers merge the rows, so workers never contend for a cache line. A row is
`ROW_WORDS` (3,792) 64-bit words, starting on a 128-byte boundary:

| word | what |
|-----:|------|
| 0 | count |
| 1 | sum (two's complement, wrapping) |
| 2, 3 | sum of squares, low and high halves of a `u128` |
| 4, 5 | min and max, biased (`value ^ 1 << 63`) so that unsigned order is signed order |
| 6 | negative samples (not in the histogram) |
| 7 | unused |
| 8.. | 3,776 histogram buckets |

# Buckets and the percentile error

Values 0 to 63 have a bucket each. Above that, every power of two `[2^e, 2^(e+1))` is split into
64 equal buckets (log-linear, as in HdrHistogram). A percentile is reported as the midpoint of
its bucket, clamped to the exact min and max, so its **relative error is at most 1/128
(0.79 %)**: a bucket at `2^e` is `2^(e-6)` wide and its midpoint is at most half of that away
from any value in it. Negative samples count in `count`/`sum`/`min`/`max`/mean/std dev but not
in the histogram: percentiles are over the non-negative samples.

Recording is a handful of relaxed atomic adds on the worker's own row: it never allocates,
locks or waits.
*/

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::aggregate::{Aggregate, LOG2_BUCKETS};
use crate::drops::Drops;
use crate::segment::{Layout, SegmentError, SegmentErrorKind, WORDS_PER_SLOT};

/// Histogram buckets per row.
const BUCKETS: usize = 64 + 58 * 64;
/// Words per row, header included, rounded up to whole 128-byte slots.
const ROW_WORDS: usize = (HEADER_WORDS + BUCKETS).div_ceil(WORDS_PER_SLOT) * WORDS_PER_SLOT;

const HEADER_WORDS: usize = 8;
const COUNT: usize = 0;
const SUM: usize = 1;
const SQ_LO: usize = 2;
const SQ_HI: usize = 3;
const MIN: usize = 4;
const MAX: usize = 5;
const NEGATIVE: usize = 6;
const BIAS: u64 = 1 << 63;

/// The bucket of a non-negative value.
fn bucket_of(value: u64) -> usize {
    if value < 64 {
        value as usize
    } else {
        let exponent = 63 - value.leading_zeros() as usize; // >= 6
        let shift = exponent - 6;
        let mantissa = ((value >> shift) & 63) as usize;
        64 + shift * 64 + mantissa
    }
}

/// The lowest value of bucket `index` and its width.
fn bucket_range(index: usize) -> (u64, u64) {
    if index < 64 {
        (index as u64, 1)
    } else {
        let shift = (index - 64) / 64;
        let mantissa = ((index - 64) % 64) as u64;
        ((64 + mantissa) << shift, 1 << shift)
    }
}

/// Statistics of samples recorded lock-free by forked processes, one row per worker.
///
/// ```
/// use raindrops::SharedAggregate;
///
/// let aggregate = SharedAggregate::new(2)?; // before fork: one row per worker
/// let mine = aggregate.recorder(0);         // in worker 0
/// for ms in [3, 5, 8, 120] {
///     mine.record(ms);
/// }
/// let stats = aggregate.snapshot();
/// assert_eq!((stats.count, stats.sum, stats.min, stats.max), (4, 136, Some(3), Some(120)));
/// assert_eq!(stats.percentile(50.0), Some(5));
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
#[derive(Clone)]
pub struct SharedAggregate {
    drops: Arc<Drops>,
    rows: usize,
}

impl std::fmt::Debug for SharedAggregate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedAggregate").field("rows", &self.rows).finish_non_exhaustive()
    }
}

impl SharedAggregate {
    /// An empty aggregate of `rows` rows in anonymous shared memory, inherited by `fork`.
    ///
    /// # Errors
    ///
    /// When `mmap` fails or `rows` is absurdly large.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(4)?;
    /// assert_eq!(aggregate.rows(), 4);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn new(rows: usize) -> Result<Self, SegmentError> {
        let slots = rows.checked_mul(ROW_WORDS / WORDS_PER_SLOT).ok_or_else(|| {
            SegmentError::new(None, SegmentErrorKind::Capacity { requested: rows, capacity: 0 })
        })?;
        let aggregate = SharedAggregate {
            drops: Arc::new(Drops::anonymous_with(slots, Layout::default())?),
            rows,
        };
        // A new mapping is all zeros: only the minimums need a value (and the pages of the
        // buckets stay untouched until used).
        for row in 0..rows {
            // Relaxed: nothing else can see the mapping yet.
            aggregate.row(row)[MIN].store(u64::MAX, Ordering::Relaxed);
        }
        Ok(aggregate)
    }

    /// The number of rows.
    ///
    /// ```
    /// assert_eq!(raindrops::SharedAggregate::new(1)?.rows(), 1);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }

    fn row(&self, row: usize) -> &[AtomicU64] {
        assert!(row < self.rows, "aggregate row {row} out of range for {} rows", self.rows);
        &self.drops.segment().words()[row * ROW_WORDS..(row + 1) * ROW_WORDS]
    }

    fn clear_row(&self, row: usize) {
        for (i, word) in self.row(row).iter().enumerate() {
            // Relaxed: resets are not synchronised with recorders (see `reset`).
            word.store(if i == MIN { u64::MAX } else { 0 }, Ordering::Relaxed);
        }
    }

    /// A handle that records into row `row` (a worker's own row).
    ///
    /// # Panics
    ///
    /// When `row >= rows()`.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(1)?;
    /// aggregate.recorder(0).record(42);
    /// assert_eq!(aggregate.snapshot().count, 1);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn recorder(&self, row: usize) -> Recorder {
        self.row(row);
        Recorder { aggregate: self.clone(), base: row * ROW_WORDS }
    }

    /// Records one sample into row `row`: what [`Recorder::record`] does, for callers that pick
    /// the row at each call (a handle made before `fork`, used by each worker in its own row).
    ///
    /// # Panics
    ///
    /// When `row >= rows()`.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(2)?;
    /// aggregate.record(1, 5);
    /// assert_eq!(aggregate.snapshot().sum, 5);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[inline]
    pub fn record(&self, row: usize, value: i64) {
        record_into(self.row(row), value);
    }

    /// Empties every row. Samples recorded while it runs may be kept or dropped, partly.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(1)?;
    /// aggregate.recorder(0).record(1);
    /// aggregate.reset();
    /// assert_eq!(aggregate.snapshot().count, 0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn reset(&self) {
        for row in 0..self.rows {
            self.clear_row(row);
        }
    }

    /// The rows merged: count, sum, min, max exact; mean, std dev and percentiles derived.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(2)?;
    /// aggregate.recorder(0).record(10);
    /// aggregate.recorder(1).record(-4);
    /// let stats = aggregate.snapshot();
    /// assert_eq!((stats.count, stats.sum, stats.min), (2, 6, Some(-4)));
    /// assert_eq!(stats.outliers_low, 1);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn snapshot(&self) -> AggregateSnapshot {
        let mut snap = AggregateSnapshot {
            count: 0,
            sum: 0,
            min: None,
            max: None,
            outliers_low: 0,
            sum_squares: 0,
            buckets: vec![0; BUCKETS],
        };
        // Relaxed everywhere: each word is a lone counter; a snapshot taken while workers record
        // is a mix of slightly different moments, like any read of live counters.
        let load = |word: &AtomicU64| word.load(Ordering::Relaxed);
        let (mut min, mut max) = (u64::MAX, 0u64);
        for row in 0..self.rows {
            let words = self.row(row);
            snap.count += load(&words[COUNT]);
            snap.sum = snap.sum.wrapping_add(load(&words[SUM]) as i64);
            let squares = u128::from(load(&words[SQ_HI])) << 64 | u128::from(load(&words[SQ_LO]));
            snap.sum_squares = snap.sum_squares.wrapping_add(squares);
            min = min.min(load(&words[MIN]));
            max = max.max(load(&words[MAX]));
            snap.outliers_low += load(&words[NEGATIVE]);
            for (total, word) in snap.buckets.iter_mut().zip(&words[HEADER_WORDS..]) {
                *total += load(word);
            }
        }
        if snap.count > 0 {
            snap.min = Some((min ^ BIAS) as i64);
            snap.max = Some((max ^ BIAS) as i64);
        }
        snap
    }
}

/// Records samples into one row of a [`SharedAggregate`]; see [`SharedAggregate::recorder`].
#[derive(Clone, Debug)]
pub struct Recorder {
    aggregate: SharedAggregate,
    base: usize,
}

impl Recorder {
    /// Records one sample: a few relaxed atomic adds, no allocation, no lock.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(1)?;
    /// let recorder = aggregate.recorder(0);
    /// recorder.record(7);
    /// recorder.record(9);
    /// assert_eq!(aggregate.snapshot().mean(), 8.0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[inline]
    pub fn record(&self, value: i64) {
        record_into(
            &self.aggregate.drops.segment().words()[self.base..self.base + ROW_WORDS],
            value,
        );
    }
}

/// Records `value` into a row's words.
#[inline]
fn record_into(words: &[AtomicU64], value: i64) {
    // Relaxed everywhere: each word is a lone counter (see `snapshot`).
    words[COUNT].fetch_add(1, Ordering::Relaxed);
    words[SUM].fetch_add(value as u64, Ordering::Relaxed);
    let square = value.unsigned_abs() as u128 * value.unsigned_abs() as u128;
    let (low, high) = (square as u64, (square >> 64) as u64);
    let old = words[SQ_LO].fetch_add(low, Ordering::Relaxed);
    let carry = u64::from(old.checked_add(low).is_none());
    if high + carry != 0 {
        words[SQ_HI].fetch_add(high + carry, Ordering::Relaxed);
    }
    let biased = value as u64 ^ BIAS;
    if biased < words[MIN].load(Ordering::Relaxed) {
        words[MIN].fetch_min(biased, Ordering::Relaxed);
    }
    if biased > words[MAX].load(Ordering::Relaxed) {
        words[MAX].fetch_max(biased, Ordering::Relaxed);
    }
    if value < 0 {
        words[NEGATIVE].fetch_add(1, Ordering::Relaxed);
    } else {
        words[HEADER_WORDS + bucket_of(value as u64)].fetch_add(1, Ordering::Relaxed);
    }
}

/// A [`SharedAggregate`]'s rows merged at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateSnapshot {
    /// Samples recorded.
    pub count: u64,
    /// Their sum (wrapping, like `i64` arithmetic).
    pub sum: i64,
    /// The smallest sample.
    pub min: Option<i64>,
    /// The largest sample.
    pub max: Option<i64>,
    /// Negative samples, which the histogram leaves out.
    pub outliers_low: u64,
    sum_squares: u128,
    buckets: Vec<u64>,
}

impl AggregateSnapshot {
    /// The mean, NaN when empty.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(1)?;
    /// assert!(aggregate.snapshot().mean().is_nan());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn mean(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.sum as f64 / self.count as f64 }
    }

    /// The sample standard deviation, NaN for fewer than 2 samples.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(1)?;
    /// for v in [2, 4, 4, 4, 5, 5, 7, 9] {
    ///     aggregate.recorder(0).record(v);
    /// }
    /// assert!((aggregate.snapshot().std_dev() - 2.138).abs() < 0.001);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn std_dev(&self) -> f64 {
        if self.count < 2 {
            return f64::NAN;
        }
        let n = self.count as f64;
        let sum = self.sum as f64;
        let variance = (self.sum_squares as f64 - sum * sum / n) / (n - 1.0);
        variance.max(0.0).sqrt()
    }

    /// The statistics as an [`Aggregate`] with a log2 histogram, to print the `aggregate` gem's
    /// text and raindrops' `X-*` headers. Exact: every log-linear bucket lies within one power of
    /// two, so each lands whole in its log2 bucket (`floor(log2(x))`; the gem's float rounding
    /// differs only for values within 2^-50 below a power of two beyond 2^48). Zero and
    /// negative samples are the gem's low outliers.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(2)?;
    /// aggregate.recorder(0).record(3);
    /// aggregate.recorder(1).record(200);
    /// aggregate.recorder(1).record(0);
    /// let gem = aggregate.snapshot().to_aggregate();
    /// let buckets: Vec<_> = gem.nonzero_buckets().map(|b| (b.value, b.count)).collect();
    /// assert_eq!(buckets, [(2, 1), (128, 1)]);
    /// assert_eq!((gem.count(), gem.sum(), gem.outliers_low()), (3, 203, 1));
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn to_aggregate(&self) -> Aggregate {
        let mut log2 = [0u64; LOG2_BUCKETS];
        for (index, &count) in self.buckets.iter().enumerate().skip(1) {
            let (low, _) = bucket_range(index);
            log2[low.ilog2() as usize] += count;
        }
        Aggregate::from_log2_parts(
            self.count,
            i128::from(self.sum),
            self.sum_squares as f64,
            self.min.zip(self.max),
            self.outliers_low + self.buckets[0],
            log2,
        )
    }

    /// The `p`-th percentile (0 to 100) of the non-negative samples, within 1/128 of the exact
    /// value (see the module docs); `None` when there are none or `p` is out of range.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(1)?;
    /// for v in 1..=1000 {
    ///     aggregate.recorder(0).record(v);
    /// }
    /// let p99 = aggregate.snapshot().percentile(99.0).unwrap();
    /// assert!((p99 as f64 - 990.0).abs() <= 990.0 / 128.0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn percentile(&self, p: f64) -> Option<i64> {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 || !(0.0..=100.0).contains(&p) {
            return None;
        }
        // The rank of the sample wanted, 1-based (nearest-rank method).
        let rank = ((p / 100.0 * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (index, &count) in self.buckets.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (low, width) = bucket_range(index);
                let mid = (low + width / 2) as i64;
                let lowest = self.min.unwrap_or(0).max(0);
                return Some(mid.clamp(lowest, self.max.unwrap_or(mid)));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn row_size_is_documented() {
        assert_eq!(ROW_WORDS, 3792);
        assert_eq!(BUCKETS, 3776);
    }

    #[test]
    fn buckets_cover_every_value_in_order() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(63), 63);
        assert_eq!(bucket_of(64), 64);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket_range(BUCKETS - 1).0 + (bucket_range(BUCKETS - 1).1 - 1), u64::MAX);
    }

    proptest! {
        /// The gem view of a snapshot is the `Aggregate` of the same samples: same text, same
        /// statistics (std dev to rounding: the sums of squares are rounded differently).
        #[test]
        fn to_aggregate_is_the_gem_aggregate(values in proptest::collection::vec(-1000i64..(1 << 40), 0..200)) {
            let shared = SharedAggregate::new(2).unwrap();
            for (i, &v) in values.iter().enumerate() {
                shared.recorder(i % 2).record(v);
            }
            let got = shared.snapshot().to_aggregate();
            let want: Aggregate = values.iter().copied().collect();
            prop_assert_eq!(got.to_string(), want.to_string());
            prop_assert_eq!((got.count(), got.min(), got.max()), (want.count(), want.min(), want.max()));
            prop_assert_eq!((got.outliers_low(), got.outliers_high()), (want.outliers_low(), want.outliers_high()));
            prop_assert_eq!((got.sum(), got.mean().to_bits()), (want.sum(), want.mean().to_bits()));
            let (a, b) = (got.std_dev(), want.std_dev());
            prop_assert!(a.is_nan() && b.is_nan() || (a - b).abs() <= 1e-9 * b.max(1.0), "{} {}", a, b);
        }
    }

    proptest! {
        /// Every value lies in its bucket, and the midpoint is within 1/128 of it.
        #[test]
        fn value_in_its_bucket(value in any::<u64>()) {
            let (low, width) = bucket_range(bucket_of(value));
            prop_assert!(low <= value && value - low < width);
            let mid = low + width / 2;
            prop_assert!((mid.abs_diff(value) as f64) <= value as f64 / 128.0 + 0.5);
        }
    }
}
