//! [`AggregateError`]: why a linear histogram's bounds were refused.

/// Why [`Aggregate::linear`](crate::Aggregate::linear) refused its arguments.
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
    /// `(high - low) / width` exceeds [`Aggregate::MAX_LINEAR_BUCKETS`](crate::Aggregate::MAX_LINEAR_BUCKETS) (the
    /// gem would try to allocate them all).
    #[error(
        "linear histogram (high - low) / width is {buckets} buckets, more than the maximum {max}"
    )]
    TooManyBuckets {
        /// `(high - low) / width`.
        buckets: u64,
        /// [`Aggregate::MAX_LINEAR_BUCKETS`](crate::Aggregate::MAX_LINEAR_BUCKETS).
        max: usize,
    },
}
