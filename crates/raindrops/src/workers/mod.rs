/*!
Per-worker rows: [`Workers`] keeps one row of named counters per worker process.

# Layout

A workers segment holds `rows + 1` rows of `fields + 2` slots each: the fields, then the row's
heartbeat (milliseconds of `CLOCK_MONOTONIC`, a clock shared by every process of the host) and
the worker's pid. The last row is the *retired* row, where dead workers' counters go.

Every slot is 128 bytes, so every row sits on cache lines of its own: workers never contend.

# Retiring and consistent sums

[`Workers::retire`] moves a row's counters into the retired row and zeroes its gauges. A
reader summing the rows while that happens could count the moved value twice or not at all; so
retiring is bracketed by a sequence number in the segment header (odd while a move is under way),
and readers ([`Workers::sum`], [`Workers::snapshot`]) retry a read that overlapped a move. Workers'
own updates never touch the sequence: `incr` stays one atomic add. Since every counter slot only
grows between retires, a reader's successive sums of a counter never decrease.
*/

mod row;
mod rows;
mod seqlock;
mod view;

pub(crate) use row::check_row_width;
pub use row::monotonic_ms;
pub use rows::{Previous, Workers};
pub use view::{RowSnapshot, WorkersSnapshot, WorkersTotals, WorkersView};
