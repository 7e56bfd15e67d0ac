//! The histogram's buckets: log2 (the gem's `Math.log(x) / Math.log(2)`) or linear, and the
//! bucket a sample falls in.

/// Buckets of the log2 histogram that an `i64` sample can reach: bucket `k`
/// is labelled `2^k`, and `i64::MAX` rounds to `2^63` (bucket 63).
pub(crate) const LOG2_BUCKETS: usize = 64;

/// Below this, the gem's float computation of `log2(x)` truncates to exactly
/// `floor(log2(x))` (checked by a unit test against the float formula at every
/// power-of-two boundary), so the integer fast path is used.
const LOG2_FAST_LIMIT: i64 = 1 << 47;

/// One histogram bucket, as yielded by [`Aggregate::buckets`](crate::Aggregate::buckets) and
/// [`Aggregate::nonzero_buckets`](crate::Aggregate::nonzero_buckets) (the gem's `each` and `each_nonzero`).
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
pub(super) enum Layout {
    /// Bucket `k` counts samples `x >= 1` whose `trunc(ln(x) / ln(2))` is `k`.
    Log2 { counts: [u64; LOG2_BUCKETS] },
    /// Bucket `k` counts samples in `[low + k * width, low + (k + 1) * width)`.
    Linear { low: i64, high: i64, width: u64, counts: Box<[u64]> },
}

/// Where a sample falls outside the histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outlier {
    /// Below the first bucket (below 1 for log2).
    Low,
    /// At or above a linear histogram's `high`.
    High,
}

impl Layout {
    /// The bucket `value` falls in, or which side of the histogram it falls off.
    #[inline]
    pub(super) fn bucket_of(&self, value: i64) -> Result<usize, Outlier> {
        match self {
            Layout::Log2 { .. } if value < 1 => Err(Outlier::Low),
            Layout::Log2 { .. } => Ok(log2_index(value)),
            Layout::Linear { low, .. } if value < *low => Err(Outlier::Low),
            Layout::Linear { high, .. } if value >= *high => Err(Outlier::High),
            // low <= value < high: the difference fits in a u64, and the index is less than
            // counts.len() <= MAX_LINEAR_BUCKETS.
            Layout::Linear { low, width, .. } => Ok((value.abs_diff(*low) / *width) as usize),
        }
    }

    pub(super) fn counts(&self) -> &[u64] {
        match self {
            Layout::Log2 { counts } => counts,
            Layout::Linear { counts, .. } => counts,
        }
    }

    pub(super) fn counts_mut(&mut self) -> &mut [u64] {
        match self {
            Layout::Log2 { counts } => counts,
            Layout::Linear { counts, .. } => counts,
        }
    }

    /// The gem's `to_bucket(index)`.
    pub(super) fn bucket_value(&self, index: usize) -> i128 {
        match self {
            Layout::Log2 { .. } => 1i128 << index,
            Layout::Linear { low, width, .. } => {
                i128::from(*low) + index as i128 * i128::from(*width)
            }
        }
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
}
