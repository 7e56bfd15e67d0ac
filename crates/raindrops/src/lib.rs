//! Real-time stats for preforking and multi-threaded Linux servers.
//!
//! # Shared counters
//!
//! [`Drops`] is an array of 64-bit counters in one `MAP_SHARED` segment, one counter per
//! 128-byte [`Slot`], that any number of forked processes update lock-free: `incr` is one atomic
//! add. A segment is either anonymous (inherited across `fork`) or backed by a file, which
//! another process can open later to read (or write) the same counters, and which survives
//! restarts of the processes using it. [`DropsReader`] opens a file read-only for tools that
//! only look; every header is checked against size limits before anything is mapped.
//!
//! ```
//! use raindrops::Drops;
//!
//! let drops = Drops::new(2)?;
//! assert_eq!(drops.incr(0), 1);
//! assert_eq!(drops.add(1, 41), 41);
//! assert_eq!(drops.snapshot(), vec![1, 41]);
//! # Ok::<(), raindrops::SegmentError>(())
//! ```
//!
//! # Named counters
//!
//! The [`counters!`] macro declares a struct of named counters, each a *counter* (monotonic) or
//! a *gauge* (in-flight), with an accessor per field: Ruby raindrops' `Raindrops::Struct`.
//!
//! # Aggregates
//!
//! [`Aggregate`] keeps count, min, max, mean, standard deviation, outliers and a log2 (or
//! linear) histogram of integer samples, and prints them exactly like Ruby's `aggregate` gem.
//!
//! [`SharedAggregate`] records the same statistics lock-free from many forked processes, with
//! percentiles.
//!
//! # Memory of a process
//!
//! [`memory`] measures a process's RSS, PSS, USS or its cgroup's usage, cheaply enough to check
//! a worker every few requests.
//!
//! # Worker rows
//!
//! [`Workers`] keeps one row of those counters per worker process, so that no two workers ever
//! write the same cache line, and sums the rows for readers. When a worker dies,
//! [`Workers::retire`] folds its counters into a retired row and zeroes its gauges: totals never
//! go down and a dead worker's in-flight requests disappear. [`Workers::claim`] gives a
//! supervisor a file of its own (an exclusive lock held by it and its workers) whose counters
//! carry over from its previous run.
//!
//! ```
//! raindrops::counters! {
//!     /// What each worker is doing.
//!     pub struct Http {
//!         /// Requests inside the app right now.
//!         calling: gauge,
//!         /// Requests served.
//!         requests: counter,
//!     }
//! }
//!
//! let workers = raindrops::Workers::<Http>::new(4)?;
//! let me = workers.worker(2);
//! me.calling().incr();
//! me.requests().incr();
//! me.calling().decr();
//! let total = workers.sum();
//! assert_eq!((total.calling, total.requests), (0, 1));
//! # Ok::<(), raindrops::SegmentError>(())
//! ```
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod aggregate;
mod counters;
mod defer_accept;
mod drops;
mod escape;
pub mod listen;
mod locks;
pub mod memory;
mod reader;
mod schema;
mod segment;
mod shared_aggregate;
mod shared_words;
#[allow(unsafe_code)]
mod sys;
pub mod tcp_info;
mod workers;

pub use aggregate::{Aggregate, AggregateError, Bucket, RubyFloat};
pub use counters::{FieldValues, Row, Schema, ValuesOf};
pub use defer_accept::{defer_accept, set_defer_accept};
pub use drops::{Drops, Iter};
pub use escape::{UnescapeError, escape_bytes, is_terminal_control, unescape_bytes};
pub use listen::{
    AddrErrorKind, AddrParseError, ListenError, ListenStats, ListenerAddr, ListenerName,
    LocalQueue, QueueWait, SockDiag, UnixSource, local_queue,
};
pub use reader::DropsReader;
pub use schema::{Field, Kind};
pub use segment::{SegmentError, SegmentErrorKind, Slot};
pub use shared_aggregate::{AggregateSnapshot, Recorder, SharedAggregate};
pub use shared_words::SharedWords;
pub use tcp_info::TcpInfo;
pub use workers::{
    Previous, RowSnapshot, Workers, WorkersSnapshot, WorkersTotals, WorkersView, monotonic_ms,
};

/// Support for the [`counters!`] macro; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::counters::{create_file, new_anonymous, open_file, read_values, to_map, values};
}
