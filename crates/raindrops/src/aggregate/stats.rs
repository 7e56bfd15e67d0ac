//! The statistics: [`Aggregate`] records samples into its count, sum, extremes, outliers and
//! histogram buckets, and computes the gem's mean and standard deviation from them.

use super::buckets::{Bucket, LOG2_BUCKETS, Layout, Outlier};
use super::error::AggregateError;

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
        match self.layout.bucket_of(value) {
            Ok(index) => self.layout.counts_mut()[index] += 1,
            Err(Outlier::Low) => self.outliers_low += 1,
            Err(Outlier::High) => self.outliers_high += 1,
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
        self.layout.counts_mut().fill(0);
    }

    pub(super) fn counts(&self) -> &[u64] {
        self.layout.counts()
    }

    /// The gem's `to_bucket(index)`.
    pub(super) fn bucket_value(&self, index: usize) -> i128 {
        self.layout.bucket_value(index)
    }

    pub(super) fn layout(&self) -> &Layout {
        &self.layout
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

#[cfg(test)]
mod tests {
    use super::*;

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
