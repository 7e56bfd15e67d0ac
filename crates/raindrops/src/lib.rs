//! Real-time stats for preforking and multi-threaded Linux servers.
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod aggregate;
pub use aggregate::{Aggregate, AggregateError, Bucket, RubyFloat};
