/*!
The shared mapping behind [`Drops`](crate::Drops): one `MAP_SHARED` region holding a header and
an array of 128-byte [`Slot`]s.

# Layout (version 1)

Every segment, anonymous or file-backed, has the same layout, so that a file is
self-describing and `raindrops dump FILE` needs no out-of-band schema:

| offset | size | field |
|-------:|-----:|-------|
| 0      | 8    | magic `RAINDROP` |
| 8      | 4    | layout version (1) |
| 12     | 4    | slot size in bytes (128) |
| 16     | 8    | header length in bytes (a multiple of 4096); the first slot starts here |
| 24     | 8    | capacity, in slots |
| 32     | 8    | slots in use (`len`, atomic) |
| 40     | 4    | worker rows (0 when the segment is not split into rows) |
| 44     | 4    | slots per row |
| 48     | 4    | length of the names table in bytes |
| 52     | 4    | reserved, zero |
| 56     | 8    | retire sequence number (atomic; see [`Workers`](crate::Workers)) |
| 64     | ...  | names table: one line per field, `c:NAME\n` (counter) or `g:NAME\n` (gauge) |

Integers are in the host's byte order: a segment is shared between processes of one host, not
a wire format.

# Limits

A header is untrusted input (tools read files others wrote): every size in it is checked against
a limit (see [`Drops`](crate::Drops#limits)) before it is used in arithmetic, before anything is
allocated and before anything is mapped.

# Files and `SIGBUS`

Touching a page of a file mapping past the end of the file raises `SIGBUS`. We make sure that
cannot happen when a file is opened: its size is checked with `fstat` against the size its
header claims before anything is mapped, and a file that is too short, foreign, of another
version or truncated is a [`SegmentError`] naming the file and the mismatch.

After a file is mapped, only a deliberate `truncate` of it by another process could shrink it.
raindrops never does that: files are created with mode 0600, and [`Drops::create`] writes a new
file next to the old one and renames it into place, so processes that still map the old file
keep a valid mapping of the old inode. We chose this over an `unsafe fn open` because the
remaining hazard requires the file's owner to sabotage it.

[`Drops::create`]: crate::Drops::create
*/

mod error;
mod format;
mod header;
#[allow(unsafe_code)]
mod map;
mod names;
mod slot;

pub use error::{SegmentError, SegmentErrorKind};
pub(crate) use header::Layout;
pub(crate) use map::{Access, Placement, Segment};
pub use slot::Slot;
pub(crate) use slot::WORDS_PER_SLOT;
