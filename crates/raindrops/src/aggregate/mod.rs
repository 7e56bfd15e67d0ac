//! In-process aggregate statistics and histogram: a port of the Ruby
//! [`aggregate`](https://github.com/josephruscio/aggregate) gem (version 0.2.2).
//!
//! [`Aggregate`] keeps the count, minimum, maximum, sum, mean, standard
//! deviation and outlier counts of a stream of integer samples, plus either a
//! binary-logarithmic histogram ([`Aggregate::new`]) or a linear one
//! ([`Aggregate::linear`]). Its [`Display`](std::fmt::Display) output is
//! byte-for-byte the gem's `to_s`, which is what raindrops' watcher and
//! `LastDataRecv` endpoints serve (their `X-Count` ... `X-Outliers-High`
//! headers are `raindrops_http::x_headers`'), floats formatted as Ruby's
//! `Float#to_s` by [`RubyFloat`].
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

mod buckets;
mod error;
mod render;
mod ruby_float;
mod stats;

pub use buckets::Bucket;
pub(crate) use buckets::LOG2_BUCKETS;
pub use error::AggregateError;
pub use ruby_float::RubyFloat;
pub use stats::Aggregate;
