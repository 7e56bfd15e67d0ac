//! In-process aggregate statistics and histogram: a port of the Ruby
//! [`aggregate`](https://github.com/josephruscio/aggregate) gem (version 0.2.2).
//!
//! [`Aggregate`] keeps the count, minimum, maximum, sum, mean, standard
//! deviation and outlier counts of a stream of integer samples, plus either a
//! binary-logarithmic histogram ([`Aggregate::new`]) or a linear one
//! ([`Aggregate::linear`]). Its [`Display`](fmt::Display) output is
//! byte-for-byte the gem's `to_s`, which is what raindrops' watcher and
//! `LastDataRecv` endpoints serve; [`Aggregate::headers`] gives their
//! `X-Count` ... `X-Outliers-High` headers, floats formatted as Ruby's
//! `Float#to_s` ([`RubyFloat`]).
//!
//! Differences from the gem, all deliberate and documented on the items:
//!
//! * samples are [`i64`] (the gem takes any `Numeric`; raindrops only ever
//!   records integers), and the linear histogram's bounds are [`i64`] too;
//! * [`Aggregate::sum`] is the exact integer sum (the gem keeps a `Float`);
//!   [`Aggregate::mean`] is computed from it, so it is bit-identical to the
//!   gem's whenever the gem's running `Float` sum is exact (all partial sums
//!   within ±2^53) and more accurate otherwise;
//! * [`Aggregate::std_dev`] is NaN for fewer than 2 samples (the gem also
//!   gives NaN there, except for some single samples beyond 2^53, where its
//!   rounding yields infinity or raises), and 0 where rounding makes the
//!   variance negative (the gem raises `Math::DomainError`);
//! * invalid linear bounds give an [`AggregateError`] instead of an
//!   `ArgumentError` or `ZeroDivisionError`;
//! * [`Aggregate::render`] treats fewer than 80 columns as 80 instead of
//!   raising `ArgumentError`;
//! * the gem's log2 histogram has 128 buckets, of which an [`i64`] can only
//!   reach the first 64 (values up to 2^63); [`Aggregate::buckets`] yields
//!   those 64. The text rendering still behaves as if there were 128 (the
//!   histogram always ends with a `~` row in log2 mode, like the gem's).

use std::fmt::{self, Write as _};

/// Buckets of the log2 histogram that an `i64` sample can reach: bucket `k`
/// is labelled `2^k`, and `i64::MAX` rounds to `2^63` (bucket 63).
pub(crate) const LOG2_BUCKETS: usize = 64;

/// The gem's `@@LOG_BUCKETS`: only matters for the trailing `~` row.
const GEM_LOG2_BUCKETS: usize = 128;

/// Below this, the gem's float computation of `log2(x)` truncates to exactly
/// `floor(log2(x))` (checked by a unit test against the float formula at every
/// power-of-two boundary), so the integer fast path is used.
const LOG2_FAST_LIMIT: i64 = 1 << 47;

/// The narrowest text rendering the gem supports.
const MIN_COLUMNS: usize = 80;

/// The default rendering width, as in the gem's `to_s`.
const DEFAULT_COLUMNS: usize = 80;

/// Why [`Aggregate::linear`] refused its arguments.
///
/// # Examples
///
/// ```
/// use raindrops::{Aggregate, AggregateError};
///
/// let err = Aggregate::linear(0, 100, 30).unwrap_err();
/// assert_eq!(
///     err,
///     AggregateError::RangeNotMultipleOfWidth { range: 100, width: 30 }
/// );
/// assert_eq!(
///     err.to_string(),
///     "linear histogram range high - low (100) must be a multiple of width (30)"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AggregateError {
    /// `high` is not greater than `low` (the gem: "High bucket must be > Low bucket").
    #[error("linear histogram high ({high}) must be greater than low ({low})")]
    HighNotAboveLow {
        /// The `low` argument.
        low: i64,
        /// The `high` argument.
        high: i64,
    },
    /// `width` is zero or negative (the gem raises `ZeroDivisionError` or
    /// fails later).
    #[error("linear histogram width ({width}) must be positive")]
    WidthNotPositive {
        /// The `width` argument.
        width: i64,
    },
    /// `width` is larger than `high - low` (the gem: "Histogram width must be
    /// <= histogram range").
    #[error("linear histogram width ({width}) must not exceed high - low ({range})")]
    WidthExceedsRange {
        /// `high - low`.
        range: u64,
        /// The `width` argument.
        width: i64,
    },
    /// `high - low` is not a multiple of `width` (the gem: "Histogram range
    /// (high - low) must be a multiple of width").
    #[error("linear histogram range high - low ({range}) must be a multiple of width ({width})")]
    RangeNotMultipleOfWidth {
        /// `high - low`.
        range: u64,
        /// The `width` argument.
        width: i64,
    },
    /// `(high - low) / width` exceeds [`Aggregate::MAX_LINEAR_BUCKETS`] (the
    /// gem would try to allocate them all).
    #[error(
        "linear histogram (high - low) / width is {buckets} buckets, more than the maximum {max}"
    )]
    TooManyBuckets {
        /// `(high - low) / width`.
        buckets: u64,
        /// [`Aggregate::MAX_LINEAR_BUCKETS`].
        max: usize,
    },
}

/// One histogram bucket, as yielded by [`Aggregate::buckets`] and
/// [`Aggregate::nonzero_buckets`] (the gem's `each` and `each_nonzero`).
///
/// # Examples
///
/// ```
/// use raindrops::Aggregate;
///
/// let mut agg = Aggregate::new();
/// agg.record(5);
/// let bucket = agg.nonzero_buckets().next().unwrap();
/// assert_eq!((bucket.value, bucket.count), (4, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Bucket {
    /// The bucket's label and lower bound: `2^k` for bucket `k` of a log2
    /// histogram, `low + k * width` for a linear one. An [`i128`] because the
    /// last log2 bucket is `2^63`.
    pub value: i128,
    /// How many samples fell in this bucket.
    pub count: u64,
}

/// The histogram's bucket layout and counts.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "the common log2 counts stay inline: no allocation, no pointer chase"
)]
enum Layout {
    /// Bucket `k` counts samples `x >= 1` whose `trunc(ln(x) / ln(2))` is `k`.
    Log2 { counts: [u64; LOG2_BUCKETS] },
    /// Bucket `k` counts samples in `[low + k * width, low + (k + 1) * width)`.
    Linear { low: i64, high: i64, width: u64, counts: Box<[u64]> },
}

/// Count, min, max, sum, mean, standard deviation, outliers and a histogram of
/// integer samples; a port of the Ruby `aggregate` gem.
///
/// [`record`](Self::record) never allocates: the bucket array is fixed when
/// the aggregate is created. `Display` renders the histogram exactly like the
/// gem's `to_s` (80 columns); [`render`](Self::render) is `to_s(columns)`.
///
/// # Examples
///
/// ```
/// use raindrops::Aggregate;
///
/// let mut agg = Aggregate::new();
/// for v in [3, 3, 3, 3] {
///     agg.record(v);
/// }
/// assert_eq!(agg.count(), 4);
/// assert_eq!((agg.min(), agg.max()), (Some(3), Some(3)));
/// assert_eq!(agg.mean(), 3.0);
/// assert_eq!(agg.std_dev(), 0.0);
/// let text = agg.to_string();
/// assert!(text.starts_with("value |---"));
/// assert!(text.contains("    2 |@@@@ "));
/// assert!(text.ends_with("|     4\n"));
/// ```
#[derive(Debug, Clone)]
pub struct Aggregate {
    count: u64,
    /// Exact sum; cannot overflow before `count` does.
    sum: i128,
    /// Running sum of squares, accumulated in `f64` like the gem's `@sum2`
    /// (each square is exact before it is rounded and added).
    sum2: f64,
    /// Meaningful only when `count > 0`.
    min: i64,
    /// Meaningful only when `count > 0`.
    max: i64,
    outliers_low: u64,
    outliers_high: u64,
    layout: Layout,
}

impl Default for Aggregate {
    /// The same as [`Aggregate::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// assert_eq!(Aggregate::default().to_string(), "Empty histogram");
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl Aggregate {
    /// The most buckets [`Aggregate::linear`] accepts (2^20, 8 MiB of counts).
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let max = Aggregate::MAX_LINEAR_BUCKETS as i64;
    /// assert!(Aggregate::linear(0, max, 1).is_ok());
    /// assert!(Aggregate::linear(0, max + 1, 1).is_err());
    /// ```
    pub const MAX_LINEAR_BUCKETS: usize = 1 << 20;

    /// An empty aggregate with a binary-logarithmic histogram (the gem's
    /// `Aggregate.new`).
    ///
    /// Bucket `k` (labelled `2^k`) holds samples `x` with
    /// `trunc(ln(x) / ln(2)) == k`, computed as the gem does; that is
    /// `2^k <= x < 2^(k+1)` except that samples within about 2^-50 relative
    /// below a power of two (possible from 2^48 - 1 up) round into the next
    /// bucket, exactly as in the gem. Samples below 1 (zero and negatives) are
    /// low outliers; no [`i64`] is a high outlier.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let mut agg = Aggregate::new();
    /// agg.record(0);
    /// agg.record(-5);
    /// agg.record(1 << 40);
    /// assert_eq!(agg.outliers_low(), 2);
    /// assert_eq!(agg.outliers_high(), 0);
    /// assert_eq!(agg.nonzero_buckets().next().unwrap().value, 1 << 40);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_layout(Layout::Log2 { counts: [0; LOG2_BUCKETS] })
    }

    /// An empty aggregate with a linear histogram of `(high - low) / width`
    /// buckets (the gem's `Aggregate.new(low, high, width)`): bucket `k`,
    /// labelled `low + k * width`, holds samples in
    /// `[low + k * width, low + (k + 1) * width)`. Samples below `low` are low
    /// outliers, samples at or above `high` high outliers.
    ///
    /// # Errors
    ///
    /// Checked in this order (the gem's three checks, plus a positive-width
    /// check the gem lacks and a size limit):
    /// [`AggregateError::HighNotAboveLow`], [`AggregateError::WidthNotPositive`],
    /// [`AggregateError::WidthExceedsRange`],
    /// [`AggregateError::RangeNotMultipleOfWidth`],
    /// [`AggregateError::TooManyBuckets`] (more than
    /// [`MAX_LINEAR_BUCKETS`](Self::MAX_LINEAR_BUCKETS)).
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::{Aggregate, AggregateError};
    ///
    /// let mut agg = Aggregate::linear(0, 100, 10)?;
    /// agg.record(42);
    /// agg.record(100);
    /// assert_eq!(agg.buckets().len(), 10);
    /// assert_eq!(agg.nonzero_buckets().next().unwrap().value, 40);
    /// assert_eq!(agg.outliers_high(), 1);
    ///
    /// assert_eq!(
    ///     Aggregate::linear(5, 5, 1).unwrap_err(),
    ///     AggregateError::HighNotAboveLow { low: 5, high: 5 }
    /// );
    /// # Ok::<(), AggregateError>(())
    /// ```
    pub fn linear(low: i64, high: i64, width: i64) -> Result<Self, AggregateError> {
        if high <= low {
            return Err(AggregateError::HighNotAboveLow { low, high });
        }
        if width <= 0 {
            return Err(AggregateError::WidthNotPositive { width });
        }
        // high > low, so this is the exact difference, in 1..=u64::MAX.
        let range = high.abs_diff(low);
        let uwidth = width.unsigned_abs();
        if range < uwidth {
            return Err(AggregateError::WidthExceedsRange { range, width });
        }
        if range % uwidth != 0 {
            return Err(AggregateError::RangeNotMultipleOfWidth { range, width });
        }
        let buckets = range / uwidth;
        let max = Self::MAX_LINEAR_BUCKETS;
        let len = match usize::try_from(buckets) {
            Ok(len) if len <= max => len,
            _ => return Err(AggregateError::TooManyBuckets { buckets, max }),
        };
        Ok(Self::with_layout(Layout::Linear {
            low,
            high,
            width: uwidth,
            counts: vec![0; len].into_boxed_slice(),
        }))
    }

    /// A log2 aggregate made from merged statistics rather than samples: what
    /// [`AggregateSnapshot::to_aggregate`](crate::AggregateSnapshot::to_aggregate)
    /// returns. `log2_counts[k]` counts samples `x >= 1` with
    /// `floor(log2(x)) == k`; `sum2` is the sum of squares.
    pub(crate) fn from_log2_parts(
        count: u64,
        sum: i128,
        sum2: f64,
        min_max: Option<(i64, i64)>,
        outliers_low: u64,
        log2_counts: [u64; LOG2_BUCKETS],
    ) -> Self {
        let (min, max) = min_max.unwrap_or((0, 0));
        Self {
            count,
            sum,
            sum2,
            min,
            max,
            outliers_low,
            outliers_high: 0,
            layout: Layout::Log2 { counts: log2_counts },
        }
    }

    fn with_layout(layout: Layout) -> Self {
        Self {
            count: 0,
            sum: 0,
            sum2: 0.0,
            min: 0,
            max: 0,
            outliers_low: 0,
            outliers_high: 0,
            layout,
        }
    }

    /// Includes a sample (the gem's `<<`). Never allocates.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let mut agg = Aggregate::new();
    /// agg.record(7);
    /// agg.record(-7);
    /// assert_eq!(agg.count(), 2);
    /// assert_eq!(agg.sum(), 0);
    /// assert_eq!(agg.outliers_low(), 1);
    /// ```
    #[inline]
    pub fn record(&mut self, value: i64) {
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += 1;
        self.sum += i128::from(value);
        self.sum2 += square(value);
        match &mut self.layout {
            Layout::Log2 { counts } => {
                if value < 1 {
                    self.outliers_low += 1;
                } else {
                    counts[log2_index(value)] += 1;
                }
            }
            Layout::Linear { low, high, width, counts } => {
                if value < *low {
                    self.outliers_low += 1;
                } else if value >= *high {
                    self.outliers_high += 1;
                } else {
                    // low <= value < high: the difference fits in a u64.
                    let offset = value.abs_diff(*low);
                    // Less than counts.len() <= MAX_LINEAR_BUCKETS.
                    let index = (offset / *width) as usize;
                    counts[index] += 1;
                }
            }
        }
    }

    /// The number of samples recorded, outliers included.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let agg: Aggregate = [1, 2, 3].into_iter().collect();
    /// assert_eq!(agg.count(), 3);
    /// ```
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The smallest sample, or `None` if there are none (the gem's `nil`).
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let mut agg = Aggregate::new();
    /// assert_eq!(agg.min(), None);
    /// agg.extend([4, -2, 9]);
    /// assert_eq!(agg.min(), Some(-2));
    /// ```
    #[must_use]
    pub fn min(&self) -> Option<i64> {
        (self.count > 0).then_some(self.min)
    }

    /// The largest sample, or `None` if there are none (the gem's `nil`).
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let mut agg = Aggregate::new();
    /// assert_eq!(agg.max(), None);
    /// agg.extend([4, -2, 9]);
    /// assert_eq!(agg.max(), Some(9));
    /// ```
    #[must_use]
    pub fn max(&self) -> Option<i64> {
        (self.count > 0).then_some(self.max)
    }

    /// The exact sum of all samples (the gem's is a `Float`; this is exact,
    /// and `0` when empty).
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let agg: Aggregate = [i64::MAX, i64::MAX].into_iter().collect();
    /// assert_eq!(agg.sum(), 2 * i128::from(i64::MAX));
    /// ```
    #[must_use]
    pub fn sum(&self) -> i128 {
        self.sum
    }

    /// The arithmetic mean, `sum / count`; NaN when empty, like the gem.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let mut agg = Aggregate::new();
    /// assert!(agg.mean().is_nan());
    /// agg.extend([1, 2]);
    /// assert_eq!(agg.mean(), 1.5);
    /// ```
    #[must_use]
    pub fn mean(&self) -> f64 {
        self.sum as f64 / self.count as f64
    }

    /// The sample standard deviation (divisor `count - 1`), computed with the
    /// gem's formula `sqrt((sum2 - sum * sum / count) / (count - 1))` in
    /// `f64`.
    ///
    /// NaN for fewer than 2 samples, as in the gem (which however gives
    /// infinity or raises `Math::DomainError` for some single samples beyond
    /// 2^53, e.g. 2^53 + 1 and 2^53 + 3, because of rounding). Where rounding
    /// makes the variance negative (equal samples beyond about 2^52, e.g. six
    /// of 1703346441743126657) this returns 0 where the gem raises
    /// `Math::DomainError`.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let mut agg = Aggregate::new();
    /// agg.record(5);
    /// assert!(agg.std_dev().is_nan());
    /// agg.extend([1, 3]);
    /// assert_eq!(agg.std_dev(), 2.0);
    /// ```
    #[must_use]
    pub fn std_dev(&self) -> f64 {
        if self.count < 2 {
            return f64::NAN;
        }
        let n = self.count as f64;
        let sum = self.sum as f64;
        let variance = (self.sum2 - (sum * sum) / n) / (n - 1.0);
        if variance < 0.0 { 0.0 } else { variance.sqrt() }
    }

    /// How many samples fell below the lowest bucket: below 1 in log2 mode,
    /// below `low` in linear mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let agg: Aggregate = [0, -1, 1].into_iter().collect();
    /// assert_eq!(agg.outliers_low(), 2);
    /// ```
    #[must_use]
    pub fn outliers_low(&self) -> u64 {
        self.outliers_low
    }

    /// How many samples fell at or above the end of the highest bucket: never
    /// in log2 mode (it would take 2^127), at or above `high` in linear mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let mut agg = Aggregate::linear(0, 10, 5)?;
    /// agg.extend([9, 10, 11]);
    /// assert_eq!(agg.outliers_high(), 2);
    /// # Ok::<(), raindrops::AggregateError>(())
    /// ```
    #[must_use]
    pub fn outliers_high(&self) -> u64 {
        self.outliers_high
    }

    /// Every bucket in order, empty ones included (the gem's `each`): 64 in
    /// log2 mode (labelled `2^0` to `2^63`), `(high - low) / width` in linear
    /// mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let agg: Aggregate = [1, 3].into_iter().collect();
    /// let buckets: Vec<_> = agg.buckets().take(3).map(|b| (b.value, b.count)).collect();
    /// assert_eq!(buckets, [(1, 1), (2, 1), (4, 0)]);
    /// assert_eq!(agg.buckets().len(), 64);
    /// ```
    pub fn buckets(&self) -> impl ExactSizeIterator<Item = Bucket> + DoubleEndedIterator + '_ {
        self.counts()
            .iter()
            .enumerate()
            .map(|(index, &count)| Bucket { value: self.bucket_value(index), count })
    }

    /// The buckets holding at least one sample, in order (the gem's
    /// `each_nonzero`).
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let agg: Aggregate = [1, 100, 100].into_iter().collect();
    /// let buckets: Vec<_> = agg.nonzero_buckets().map(|b| (b.value, b.count)).collect();
    /// assert_eq!(buckets, [(1, 1), (64, 2)]);
    /// ```
    pub fn nonzero_buckets(&self) -> impl DoubleEndedIterator<Item = Bucket> + '_ {
        self.buckets().filter(|bucket| bucket.count != 0)
    }

    /// Forgets every sample, keeping the histogram layout.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let mut agg: Aggregate = [1, 2, 3].into_iter().collect();
    /// agg.reset();
    /// assert_eq!(agg.count(), 0);
    /// assert_eq!(agg.min(), None);
    /// assert_eq!(agg.to_string(), "Empty histogram");
    /// ```
    pub fn reset(&mut self) {
        self.count = 0;
        self.sum = 0;
        self.sum2 = 0.0;
        self.min = 0;
        self.max = 0;
        self.outliers_low = 0;
        self.outliers_high = 0;
        match &mut self.layout {
            Layout::Log2 { counts } => counts.fill(0),
            Layout::Linear { counts, .. } => counts.fill(0),
        }
    }

    /// The histogram as text `columns` wide, exactly like the gem's
    /// `to_s(columns)`; `Display` uses 80. Widths under 80 are treated as 80
    /// (the gem raises `ArgumentError`). `Empty histogram` (no newline) when
    /// no sample landed in a bucket, even if there were outliers.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let agg: Aggregate = [3, 3, 3, 3].into_iter().collect();
    /// let text = agg.render(100).to_string();
    /// assert_eq!(text.lines().next().unwrap().len(), 100);
    /// assert_eq!(agg.render(20).to_string(), agg.to_string());
    /// ```
    pub fn render(&self, columns: usize) -> impl fmt::Display + '_ {
        Render { aggregate: self, columns: columns.max(MIN_COLUMNS) }
    }

    fn counts(&self) -> &[u64] {
        match &self.layout {
            Layout::Log2 { counts } => counts,
            Layout::Linear { counts, .. } => counts,
        }
    }

    /// The gem's `to_bucket(index)`.
    fn bucket_value(&self, index: usize) -> i128 {
        match &self.layout {
            Layout::Log2 { .. } => 1i128 << index,
            Layout::Linear { low, width, .. } => {
                i128::from(*low) + index as i128 * i128::from(*width)
            }
        }
    }

    /// The gem's `bucket_count`, which in log2 mode is larger than what we
    /// store.
    fn gem_bucket_count(&self) -> usize {
        match &self.layout {
            Layout::Log2 { .. } => GEM_LOG2_BUCKETS,
            Layout::Linear { counts, .. } => counts.len(),
        }
    }

    fn write_histogram(&self, out: &mut fmt::Formatter<'_>, columns: usize) -> fmt::Result {
        let counts = self.counts();
        let mut nonzero = counts.iter().enumerate().filter(|(_, count)| **count != 0);
        let Some((first, _)) = nonzero.next() else {
            return out.write_str("Empty histogram");
        };
        let (last, _) = nonzero.next_back().unwrap_or((first, &0));
        let max_count = counts.iter().copied().max().unwrap_or(0);
        let total: u64 = counts.iter().sum();

        // The value column fits the last bucket's label (only: a longer
        // negative label further up overflows it, as in the gem).
        let value_width = decimal_len(self.bucket_value(last)).max("value".len());
        let count_width = decimal_len(i128::from(total)).max("count".len());
        let bar_width = columns.saturating_sub(value_width + " |".len() + "| ".len() + count_width);
        // How many samples one '@' stands for.
        let weight = (max_count as f64 / bar_width as f64).max(1.0);

        write!(out, "{:>value_width$} |", "value")?;
        repeat(out, '-', bar_width)?;
        writeln!(out, "| {:>count_width$}", "count")?;

        let mut previous = first;
        for (index, &count) in counts.iter().enumerate().skip(first) {
            if count == 0 {
                continue;
            }
            if index != first && previous + 1 != index {
                skip_row(out, value_width)?;
            }
            previous = index;
            write!(out, "{:>value_width$} |", self.bucket_value(index))?;
            // Truncation, like Ruby's Float#to_i.
            let bar = (count as f64 / weight) as usize;
            repeat(out, '@', bar)?;
            repeat(out, ' ', bar_width.saturating_sub(bar))?;
            writeln!(out, "| {count:>count_width$}")?;
        }

        if last + 1 != self.gem_bucket_count() {
            skip_row(out, value_width)?;
        }
        write!(out, "{:>value_width$} |", "Total")?;
        repeat(out, '-', bar_width)?;
        writeln!(out, "| {total:>count_width$}")
    }
}

impl fmt::Display for Aggregate {
    /// The histogram as the gem's `to_s` renders it: 80 columns, or
    /// `Empty histogram`. See [`Aggregate::render`].
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let agg: Aggregate = [42].into_iter().collect();
    /// let expected = "\
    /// value |------------------------------------------------------------------| count
    ///    32 |@                                                                 |     1
    ///       ~
    /// Total |------------------------------------------------------------------|     1
    /// ";
    /// assert_eq!(agg.to_string(), expected);
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_histogram(f, DEFAULT_COLUMNS)
    }
}

impl Extend<i64> for Aggregate {
    /// Records every sample.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let mut agg = Aggregate::new();
    /// agg.extend([1, 2, 3]);
    /// assert_eq!(agg.count(), 3);
    /// ```
    fn extend<I: IntoIterator<Item = i64>>(&mut self, iter: I) {
        for value in iter {
            self.record(value);
        }
    }
}

impl FromIterator<i64> for Aggregate {
    /// A log2 aggregate ([`Aggregate::new`]) of the samples.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let agg: Aggregate = (1..=10).collect();
    /// assert_eq!(agg.sum(), 55);
    /// ```
    fn from_iter<I: IntoIterator<Item = i64>>(iter: I) -> Self {
        let mut aggregate = Self::new();
        aggregate.extend(iter);
        aggregate
    }
}

/// Formats an `f64` exactly like Ruby's `Float#to_s`, which raindrops uses
/// for the `X-Mean` and `X-Std-Dev` headers: the shortest representation that
/// round-trips, always with a fractional part (`3.0`), in exponent form with
/// at least two exponent digits outside `1e-4 <= |x| < 1e15` (`1.0e+15`,
/// `1.0e-05`), and `NaN`, `Infinity`, `-Infinity`.
///
/// # Examples
///
/// ```
/// use raindrops::RubyFloat;
///
/// assert_eq!(RubyFloat(3.0).to_string(), "3.0");
/// assert_eq!(RubyFloat(f64::NAN).to_string(), "NaN");
/// assert_eq!(RubyFloat(1e20).to_string(), "1.0e+20");
/// assert_eq!(RubyFloat(0.00001).to_string(), "1.0e-05");
/// assert_eq!(RubyFloat(-2.0 / 3.0).to_string(), "-0.6666666666666666");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct RubyFloat(pub f64);

impl fmt::Display for RubyFloat {
    /// Writes the value as Ruby's `Float#to_s` would.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::RubyFloat;
    ///
    /// assert_eq!(format!("X-Mean: {}", RubyFloat(12.5)), "X-Mean: 12.5");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.0;
        if value.is_nan() {
            return f.write_str("NaN");
        }
        if value.is_infinite() {
            return f.write_str(if value < 0.0 { "-Infinity" } else { "Infinity" });
        }
        if value.is_sign_negative() {
            f.write_char('-')?;
        }
        if value == 0.0 {
            return f.write_str("0.0");
        }
        // Shortest round-trip digits d1.d2d3...e<exp> from `{:e}`; Ruby's
        // `decpt` (value = 0.d1d2... * 10^decpt) is exp + 1.
        let mut scientific = String::with_capacity(32);
        write!(scientific, "{:e}", value.abs())?;
        let (mantissa, exponent) = scientific.split_once('e').ok_or(fmt::Error)?;
        let exponent: i32 = exponent.parse().map_err(|_| fmt::Error)?;
        let (lead, rest) = mantissa.split_at(1);
        let rest = rest.strip_prefix('.').unwrap_or(rest);
        let digits_len = 1 + rest.len() as i32;
        let decpt = exponent + 1;
        if (1..=15).contains(&decpt) {
            // Fixed: digits with the point after `decpt` of them.
            let digits = || lead.chars().chain(rest.chars());
            for c in digits().take(decpt as usize) {
                f.write_char(c)?;
            }
            for _ in digits_len..decpt {
                f.write_char('0')?;
            }
            f.write_char('.')?;
            if digits_len > decpt {
                for c in digits().skip(decpt as usize) {
                    f.write_char(c)?;
                }
            } else {
                f.write_char('0')?;
            }
            Ok(())
        } else if (-3..=0).contains(&decpt) {
            f.write_str("0.")?;
            for _ in decpt..0 {
                f.write_char('0')?;
            }
            write!(f, "{lead}{rest}")
        } else {
            let rest = if rest.is_empty() { "0" } else { rest };
            write!(f, "{lead}.{rest}e{exponent:+03}")
        }
    }
}

impl Aggregate {
    /// The response headers raindrops' watcher and `LastDataRecv` send with a
    /// histogram, valued as Ruby would: `X-Count`, `X-Min` and `X-Max`
    /// (empty when there are no samples, like `nil.to_s`), `X-Mean` and
    /// `X-Std-Dev` (as [`RubyFloat`]), `X-Outliers-Low`, `X-Outliers-High`.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let agg: Aggregate = [3, 3, 3, 3].into_iter().collect();
    /// assert_eq!(
    ///     agg.headers(),
    ///     [
    ///         ("X-Count", "4".to_string()),
    ///         ("X-Min", "3".to_string()),
    ///         ("X-Max", "3".to_string()),
    ///         ("X-Mean", "3.0".to_string()),
    ///         ("X-Std-Dev", "0.0".to_string()),
    ///         ("X-Outliers-Low", "0".to_string()),
    ///         ("X-Outliers-High", "0".to_string()),
    ///     ]
    /// );
    /// assert_eq!(Aggregate::new().headers()[1], ("X-Min", String::new()));
    /// ```
    #[must_use]
    pub fn headers(&self) -> [(&'static str, String); 7] {
        let optional = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        [
            ("X-Count", self.count.to_string()),
            ("X-Min", optional(self.min())),
            ("X-Max", optional(self.max())),
            ("X-Mean", RubyFloat(self.mean()).to_string()),
            ("X-Std-Dev", RubyFloat(self.std_dev()).to_string()),
            ("X-Outliers-Low", self.outliers_low.to_string()),
            ("X-Outliers-High", self.outliers_high.to_string()),
        ]
    }
}

/// [`Aggregate::render`]'s result.
struct Render<'a> {
    aggregate: &'a Aggregate,
    columns: usize,
}

impl fmt::Display for Render<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.aggregate.write_histogram(f, self.columns)
    }
}

/// The gem's `skip_row`: an empty bucket run, denoted by `~`.
fn skip_row(out: &mut fmt::Formatter<'_>, value_width: usize) -> fmt::Result {
    writeln!(out, "{:>value_width$} ~", " ")
}

fn repeat(out: &mut fmt::Formatter<'_>, c: char, n: usize) -> fmt::Result {
    (0..n).try_for_each(|_| out.write_char(c))
}

/// Length of `n` in decimal, sign included.
fn decimal_len(n: i128) -> usize {
    let digits = n.unsigned_abs().checked_ilog10().map_or(1, |log| log as usize + 1);
    digits + usize::from(n < 0)
}

/// `value * value` rounded to `f64` once, like the gem's `@sum2 += data * data`
/// (an exact Integer product converted when added to a Float).
#[inline]
fn square(value: i64) -> f64 {
    let magnitude = value.unsigned_abs();
    if magnitude <= 1 << 53 {
        // The operand is exact in an f64, and IEEE-754 multiplication rounds
        // the exact product once: the same f64.
        let magnitude = magnitude as f64;
        magnitude * magnitude
    } else {
        let magnitude = u128::from(magnitude);
        (magnitude * magnitude) as f64
    }
}

/// The gem's log2 bucket of `value >= 1`: `(Math.log(x) / Math.log(2)).to_i`.
#[inline]
fn log2_index(value: i64) -> usize {
    debug_assert!(value >= 1);
    if value < LOG2_FAST_LIMIT { value.ilog2() as usize } else { log2_index_float(value) }
}

/// The gem's float formula, used where it departs from `floor(log2(x))`.
fn log2_index_float(value: i64) -> usize {
    ((value as f64).ln() / std::f64::consts::LN_2) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_2_matches_runtime_log() {
        // The gem divides by Math.log(2), computed at run time.
        assert_eq!(2f64.ln().to_bits(), std::f64::consts::LN_2.to_bits());
    }

    #[test]
    fn log2_fast_path_agrees_with_float_formula() {
        for k in 0..63 {
            let p = 1i64 << k;
            for value in [p - 1, p, p + 1] {
                if (1..LOG2_FAST_LIMIT).contains(&value) {
                    assert_eq!(log2_index(value), log2_index_float(value), "{value}");
                }
            }
        }
        assert_eq!(log2_index(LOG2_FAST_LIMIT - 1), 46);
        // The gem's quirk past the fast path: 2^48 - 1 lands in bucket 48.
        assert_eq!(log2_index((1 << 48) - 1), 48);
        assert_eq!(log2_index(i64::MAX), 63);
    }

    #[test]
    fn std_dev_where_the_gem_gives_infinity_or_raises() {
        // Gem: Infinity, Math::DomainError, Math::DomainError.
        for (value, times) in [(9007199254740993, 1), (9007199254740995, 1)] {
            let agg: Aggregate = std::iter::repeat_n(value, times).collect();
            assert!(agg.std_dev().is_nan(), "{value}");
        }
        let agg: Aggregate = std::iter::repeat_n(1703346441743126657, 6).collect();
        assert!(agg.std_dev() >= 0.0 && agg.std_dev().is_finite());
    }

    #[test]
    fn ruby_float_matches_ruby_to_s() {
        // Ruby 3.1: p [...].map(&:to_s)
        let table: [(f64, &str); 26] = [
            (1e20, "1.0e+20"),
            (1e16, "1.0e+16"),
            (1234567890123456.0, "1.234567890123456e+15"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-05"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1.5e-7, "1.5e-07"),
            (123e-310, "1.23e-308"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (100.0, "100.0"),
            (1e15, "1.0e+15"),
            (4611686018427387904.0, "4.611686018427388e+18"),
            (-2.5, "-2.5"),
            (1e14, "100000000000000.0"),
            (123456789012345.0, "123456789012345.0"),
            (999999999999999.9, "999999999999999.9"),
            (0.001, "0.001"),
            (0.00012345, "0.00012345"),
            (1.0, "1.0"),
            (5e-324, "5.0e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (0.1, "0.1"),
            (f64::NAN, "NaN"),
        ];
        for (value, ruby) in table {
            assert_eq!(RubyFloat(value).to_string(), ruby);
        }
    }

    #[test]
    fn decimal_len_counts_sign_and_digits() {
        for n in [0i128, 9, 10, -1, -10, 1 << 63, -(1 << 63), i128::MAX, i128::MIN] {
            assert_eq!(decimal_len(n), n.to_string().len(), "{n}");
        }
    }

    #[test]
    fn square_is_exactly_rounded() {
        let mut values = vec![0, 1, -1, i64::MIN, i64::MAX, 3037000499, -1703346441743126657];
        for k in 20..63 {
            let p = 1i64 << k;
            values.extend([p - 3, p - 1, p, p + 1, p + 3, -p - 1, (p - 1) / 3]);
        }
        for v in values {
            let exact = i128::from(v) * i128::from(v);
            assert_eq!(square(v).to_bits(), (exact as f64).to_bits(), "{v}");
        }
    }
}
