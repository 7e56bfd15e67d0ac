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

use std::borrow::Cow;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::mman::{MapFlags, ProtFlags};

use crate::schema::{Field, Kind};

/// The bytes every segment starts with.
const MAGIC: [u8; 8] = *b"RAINDROP";
/// The layout version this build reads and writes.
const VERSION: u32 = 1;
/// Bytes per slot.
pub(crate) const SLOT_SIZE: usize = 128;
/// The fixed part of the header; the names table follows it.
const FIXED_HEADER: usize = 64;
/// The header is padded to a multiple of this, whatever the host's page size.
const HEADER_ALIGN: usize = 4096;

const OFF_VERSION: usize = 8;
const OFF_SLOT_SIZE: usize = 12;
const OFF_HEADER_LEN: usize = 16;
const OFF_CAPACITY: usize = 24;
const OFF_LEN: usize = 32;
const OFF_ROWS: usize = 40;
const OFF_ROW_WIDTH: usize = 44;
const OFF_NAMES_LEN: usize = 48;
const OFF_SEQ: usize = 56;

/// The longest header (fixed part and names table) a segment may have.
const MAX_HEADER_LEN: usize = 64 * 1024;
/// The most slots a segment file may hold (128 MiB of slots).
pub(crate) const MAX_FILE_SLOTS: usize = 1 << 20;
/// The most worker rows a segment may have.
const MAX_ROWS: u32 = 65_536;
/// The most slots a worker row may have.
const MAX_ROW_WIDTH: u32 = 1024;

/// One 64-bit counter on its own 128 bytes.
///
/// A slot is the unit of [`Drops`](crate::Drops): forked processes update it with single atomic
/// instructions, and no two slots ever share a cache line, so processes that update different
/// slots never slow each other down (no false sharing).
///
/// Arithmetic wraps around at `u64::MAX`, like the `unsigned long` counters of Ruby's raindrops:
/// decrementing a zero slot gives `u64::MAX`.
///
/// # Size and alignment
///
/// A slot is 128 bytes on every architecture. Cache lines are 64 bytes on x86_64, but Intel's
/// optimization manual describes the L2 "spatial prefetcher" (adjacent cache line prefetch),
/// which fetches lines in 128-byte aligned pairs, so two counters 64 bytes apart still contend;
/// crossbeam's `CachePadded` uses 128 on x86_64 and aarch64 for the same reason. Since a slot is
/// also a file format, its size does not vary with the CPU it was created on.
///
/// # Layout
///
/// `#[repr(C, align(128))]`: the counter is the first 8 bytes; the other 120 are unused atomic
/// words (so the slot has no padding bytes). Neighbouring slots in a segment are exactly 128
/// bytes apart.
///
/// ```
/// assert_eq!(std::mem::size_of::<raindrops::Slot>(), 128);
/// assert_eq!(std::mem::align_of::<raindrops::Slot>(), 128);
/// ```
#[repr(C, align(128))]
pub struct Slot {
    value: AtomicU64,
    /// The rest of the slot, atomics too, so that the whole slot is interior-mutable memory
    /// that [`Segment::words`] may view as packed words.
    pad: [AtomicU64; WORDS_PER_SLOT - 1],
}

/// 64-bit words per slot.
pub(crate) const WORDS_PER_SLOT: usize = SLOT_SIZE / 8;

impl Default for Slot {
    fn default() -> Self {
        Slot::new(0)
    }
}

const _: () = assert!(std::mem::size_of::<Slot>() == SLOT_SIZE);
const _: () = assert!(std::mem::align_of::<Slot>() == SLOT_SIZE);

// Every operation below uses `Ordering::Relaxed`: a counter is a value on its own, nothing else
// in memory is published through it, so it needs atomicity (no lost updates) but no ordering
// with other memory. Readers that need a consistent view of several slots (worker rows being
// retired) use the segment's retire sequence, which carries its own Acquire/Release ordering.
impl Slot {
    /// A zero slot, for tests and for building slots outside a segment.
    ///
    /// ```
    /// let slot = raindrops::Slot::new(5);
    /// assert_eq!(slot.get(), 5);
    /// ```
    pub const fn new(value: u64) -> Self {
        Slot {
            value: AtomicU64::new(value),
            pad: [const { AtomicU64::new(0) }; WORDS_PER_SLOT - 1],
        }
    }

    /// Adds one and returns the new value.
    ///
    /// ```
    /// let slot = raindrops::Slot::new(0);
    /// assert_eq!(slot.incr(), 1);
    /// ```
    #[inline]
    pub fn incr(&self) -> u64 {
        self.add(1)
    }

    /// Subtracts one and returns the new value (wrapping below zero).
    ///
    /// ```
    /// let slot = raindrops::Slot::new(0);
    /// assert_eq!(slot.decr(), u64::MAX);
    /// ```
    #[inline]
    pub fn decr(&self) -> u64 {
        self.sub(1)
    }

    /// Adds `n` and returns the new value (wrapping).
    ///
    /// ```
    /// let slot = raindrops::Slot::new(u64::MAX);
    /// assert_eq!(slot.add(2), 1);
    /// ```
    #[inline]
    pub fn add(&self, n: u64) -> u64 {
        // Relaxed: a lone counter (see the comment on this impl).
        self.value.fetch_add(n, Ordering::Relaxed).wrapping_add(n)
    }

    /// Subtracts `n` and returns the new value (wrapping).
    ///
    /// ```
    /// let slot = raindrops::Slot::new(10);
    /// assert_eq!(slot.sub(3), 7);
    /// ```
    #[inline]
    pub fn sub(&self, n: u64) -> u64 {
        // Relaxed: a lone counter.
        self.value.fetch_sub(n, Ordering::Relaxed).wrapping_sub(n)
    }

    /// The current value.
    ///
    /// ```
    /// let slot = raindrops::Slot::new(3);
    /// assert_eq!(slot.get(), 3);
    /// ```
    #[inline]
    pub fn get(&self) -> u64 {
        // Relaxed: a lone counter.
        self.value.load(Ordering::Relaxed)
    }

    /// Stores `value`.
    ///
    /// ```
    /// let slot = raindrops::Slot::new(3);
    /// slot.set(9);
    /// assert_eq!(slot.get(), 9);
    /// ```
    #[inline]
    pub fn set(&self, value: u64) {
        // Relaxed: a lone counter.
        self.value.store(value, Ordering::Relaxed)
    }

    /// Stores `value` and returns the previous value, atomically: no concurrent `incr` is lost
    /// between the read and the write.
    ///
    /// ```
    /// let slot = raindrops::Slot::new(3);
    /// assert_eq!(slot.swap(0), 3);
    /// assert_eq!(slot.get(), 0);
    /// ```
    #[inline]
    pub fn swap(&self, value: u64) -> u64 {
        // Relaxed: a lone counter.
        self.value.swap(value, Ordering::Relaxed)
    }
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

/// Why a segment could not be created or opened; see [`SegmentError::kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SegmentErrorKind {
    /// The file does not exist.
    NotFound,
    /// The file exists but this process may not open it for reading and writing.
    PermissionDenied,
    /// Another I/O error, or `mmap` failed; the `io::Error` is the source.
    Io,
    /// The file is shorter than a segment header.
    TooShort {
        /// The file's size in bytes.
        len: u64,
    },
    /// The file does not start with the raindrops magic bytes.
    BadMagic {
        /// The first 8 bytes found.
        found: [u8; 8],
    },
    /// The file was written with a layout version this build does not read.
    Version {
        /// The version in the file.
        found: u32,
    },
    /// The file's slot size is not 128 bytes.
    SlotSize {
        /// The slot size in the file.
        found: u32,
    },
    /// The header contradicts itself (a field out of range, a bad names table).
    Corrupt {
        /// What is wrong with it.
        reason: Cow<'static, str>,
    },
    /// The file is shorter than its header says: it was truncated.
    Truncated {
        /// The file's size in bytes.
        len: u64,
        /// The size its header requires.
        need: u64,
    },
    /// The file holds other counters than the ones asked for.
    SchemaMismatch {
        /// The fields expected, as `kind:name` lines joined by commas.
        expected: String,
        /// The fields the file holds.
        found: String,
    },
    /// A resize or a layout asked for more slots than the segment holds.
    Capacity {
        /// The number of slots asked for.
        requested: usize,
        /// The number of slots available.
        capacity: usize,
    },
    /// A counter name is empty or has characters other than ASCII letters, digits and `_`.
    InvalidName {
        /// The name.
        name: String,
    },
    /// A size in a file's header, or asked for a new segment, is above what this build
    /// accepts (see the [limits](crate::Drops#limits)); nothing was mapped.
    TooLarge {
        /// The header field: `header length`, `capacity`, `worker rows` or `slots per row`.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The largest value accepted.
        limit: u64,
    },
    /// The directory that should hold a new segment file does not exist.
    NoDirectory {
        /// The directory.
        dir: PathBuf,
    },
    /// Another live process holds the file's lock: it counts into it
    /// ([`Workers::claim`](crate::Workers::claim)).
    Locked {
        /// The process holding the lock, if `/proc/locks` tells.
        pid: Option<u32>,
        /// Its command name (`/proc/PID/comm`), if known.
        command: Option<String>,
    },
}

impl fmt::Display for SegmentErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("no such segment file"),
            Self::PermissionDenied => {
                f.write_str("permission denied (segment files are mode 0600: run as their owner)")
            }
            Self::Io => f.write_str("i/o error"),
            Self::TooShort { len } => write!(
                f,
                "not a raindrops segment: {len} bytes is shorter than a header ({FIXED_HEADER} bytes)"
            ),
            Self::BadMagic { found } => write!(
                f,
                "not a raindrops segment: starts with {:?}, expected {:?}",
                String::from_utf8_lossy(found),
                String::from_utf8_lossy(&MAGIC)
            ),
            Self::Version { found } => {
                write!(f, "segment layout version {found}, this build reads version {VERSION}")
            }
            Self::SlotSize { found } => {
                write!(f, "segment slot size is {found} bytes, this build uses {SLOT_SIZE}")
            }
            Self::Corrupt { reason } => write!(f, "corrupt segment header: {reason}"),
            Self::Truncated { len, need } => {
                write!(f, "segment truncated: {len} bytes, its header requires {need}")
            }
            Self::SchemaMismatch { expected, found } => {
                write!(f, "segment holds other counters: expected [{expected}], found [{found}]")
            }
            Self::Capacity { requested, capacity } => {
                write!(f, "{requested} slots requested, the segment holds {capacity}")
            }
            Self::InvalidName { name } => write!(
                f,
                "invalid counter name {name:?}: use ASCII letters, digits and '_', not empty"
            ),
            Self::TooLarge { field, value, limit } => {
                write!(f, "{field} is {value}, above the limit of {limit}")
            }
            Self::NoDirectory { dir } => {
                write!(f, "no such directory {} for the segment file", dir.display())
            }
            Self::Locked { pid: Some(pid), command } => {
                let command = command.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
                write!(f, "in use: process {pid}{command} holds its lock")
            }
            Self::Locked { pid: None, .. } => f.write_str("in use: another process holds its lock"),
        }
    }
}

/// An error creating, opening or resizing a segment: the file (if any), what went wrong, and
/// the underlying `io::Error` (if any) as the source.
///
/// ```
/// use raindrops::{Drops, SegmentErrorKind};
///
/// let err = Drops::open("/nonexistent/counters").unwrap_err();
/// assert_eq!(err.kind(), &SegmentErrorKind::NotFound);
/// assert_eq!(err.to_string(), "/nonexistent/counters: no such segment file");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", .path.as_deref().map_or(Cow::Borrowed("anonymous segment"), Path::to_string_lossy))]
pub struct SegmentError {
    path: Option<PathBuf>,
    kind: SegmentErrorKind,
    #[source]
    source: Option<io::Error>,
}

impl SegmentError {
    pub(crate) fn new(path: Option<&Path>, kind: SegmentErrorKind) -> Self {
        SegmentError { path: path.map(Path::to_path_buf), kind, source: None }
    }

    /// An I/O error on the file `path`.
    pub(crate) fn io_at(path: &Path, source: io::Error) -> Self {
        SegmentError::io(Some(path), source)
    }

    /// An error creating `path`: "not found" there means its directory is missing.
    fn io_creating(path: &Path, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound {
            let dir = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            let kind = SegmentErrorKind::NoDirectory { dir: dir.to_owned() };
            return SegmentError::new(Some(path), kind);
        }
        SegmentError::io(Some(path), source)
    }

    fn io(path: Option<&Path>, source: io::Error) -> Self {
        let kind = match source.kind() {
            io::ErrorKind::NotFound => SegmentErrorKind::NotFound,
            io::ErrorKind::PermissionDenied => SegmentErrorKind::PermissionDenied,
            _ => SegmentErrorKind::Io,
        };
        // For "not found" and "permission denied" the kind says all the source would.
        let source = (kind == SegmentErrorKind::Io).then_some(source);
        SegmentError { path: path.map(Path::to_path_buf), kind, source }
    }

    /// What went wrong.
    ///
    /// ```
    /// use raindrops::{Drops, SegmentErrorKind};
    ///
    /// let mut drops = Drops::new(1)?;
    /// let err = drops.resize(drops.capacity() + 1).unwrap_err();
    /// assert!(matches!(err.kind(), SegmentErrorKind::Capacity { .. }));
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn kind(&self) -> &SegmentErrorKind {
        &self.kind
    }

    /// The segment's file, or `None` for an anonymous segment.
    ///
    /// ```
    /// let err = raindrops::Drops::open("/nonexistent/counters").unwrap_err();
    /// assert_eq!(err.path(), Some(std::path::Path::new("/nonexistent/counters")));
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl From<SegmentError> for io::Error {
    fn from(err: SegmentError) -> io::Error {
        let kind = match err.kind {
            SegmentErrorKind::NotFound => io::ErrorKind::NotFound,
            SegmentErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
            SegmentErrorKind::NoDirectory { .. } => io::ErrorKind::NotFound,
            SegmentErrorKind::Io => {
                err.source.as_ref().map_or(io::ErrorKind::Other, io::Error::kind)
            }
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, err)
    }
}

/// How a segment's slots are organised: plain, named fields, or rows of named fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Worker rows (0: not split into rows).
    pub(crate) rows: u32,
    /// Slots per row.
    pub(crate) row_width: u32,
    /// The named fields (empty for a plain `Drops`).
    pub(crate) fields: Vec<Field>,
}

impl Layout {
    fn encode_names(&self) -> String {
        self.fields
            .iter()
            .map(|field| {
                let tag = match field.kind {
                    Kind::Counter => 'c',
                    Kind::Gauge => 'g',
                };
                format!("{tag}:{}\n", field.name)
            })
            .collect()
    }

    fn decode_names(names: &[u8]) -> Result<Vec<Field>, SegmentErrorKind> {
        let corrupt = |reason: &'static str| SegmentErrorKind::Corrupt { reason: reason.into() };
        let text = std::str::from_utf8(names).map_err(|_| corrupt("names table is not UTF-8"))?;
        let mut fields = Vec::new();
        for line in text.split_terminator('\n') {
            let (kind, name) = match line.split_once(':') {
                Some(("c", name)) => (Kind::Counter, name),
                Some(("g", name)) => (Kind::Gauge, name),
                _ => return Err(corrupt("names table line is not `c:NAME` or `g:NAME`")),
            };
            check_name(name).map_err(|_| corrupt("names table holds an invalid name"))?;
            fields.push(Field { name: Cow::Owned(name.to_owned()), kind });
        }
        Ok(fields)
    }
}

/// Checks that `name` can be stored in a names table and printed as a metric name.
pub(crate) fn check_name(name: &str) -> Result<(), SegmentErrorKind> {
    let ok = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok { Ok(()) } else { Err(SegmentErrorKind::InvalidName { name: name.to_owned() }) }
}

/// What a header says, decoded and checked from raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HeaderInfo {
    header_len: usize,
    capacity: usize,
    len: usize,
    layout: Layout,
}

impl HeaderInfo {
    /// Bytes of the whole segment.
    fn total_len(&self) -> usize {
        // Checked in `decode`.
        self.header_len + self.capacity * SLOT_SIZE
    }

    /// Builds the header of a new segment of at least `slots` slots.
    fn for_new(slots: usize, layout: Layout) -> Result<Self, SegmentErrorKind> {
        for field in &layout.fields {
            check_name(&field.name)?;
        }
        let names_len = layout.encode_names().len();
        let header_len = round_up(FIXED_HEADER + names_len, HEADER_ALIGN);
        check_limit("header length", header_len as u64, MAX_HEADER_LEN as u64)?;
        check_limit("worker rows", layout.rows.into(), MAX_ROWS.into())?;
        check_limit("slots per row", layout.row_width.into(), MAX_ROW_WIDTH.into())?;
        let page = page_size();
        let too_big = || SegmentErrorKind::Capacity { requested: slots, capacity: max_slots() };
        let bytes = slots.checked_mul(SLOT_SIZE).ok_or_else(too_big)?;
        let capacity = round_up_checked(bytes, page).ok_or_else(too_big)? / SLOT_SIZE;
        if capacity > max_slots() {
            return Err(too_big());
        }
        Ok(HeaderInfo { header_len, capacity, len: slots, layout })
    }

    /// The header's bytes (the `header_len` first bytes of the segment).
    fn encode(&self) -> Vec<u8> {
        let names = self.layout.encode_names();
        let mut bytes = vec![0u8; self.header_len];
        bytes[..8].copy_from_slice(&MAGIC);
        put(&mut bytes, OFF_VERSION, &VERSION.to_ne_bytes());
        put(&mut bytes, OFF_SLOT_SIZE, &(SLOT_SIZE as u32).to_ne_bytes());
        put(&mut bytes, OFF_HEADER_LEN, &(self.header_len as u64).to_ne_bytes());
        put(&mut bytes, OFF_CAPACITY, &(self.capacity as u64).to_ne_bytes());
        put(&mut bytes, OFF_LEN, &(self.len as u64).to_ne_bytes());
        put(&mut bytes, OFF_ROWS, &self.layout.rows.to_ne_bytes());
        put(&mut bytes, OFF_ROW_WIDTH, &self.layout.row_width.to_ne_bytes());
        put(&mut bytes, OFF_NAMES_LEN, &(names.len() as u32).to_ne_bytes());
        put(&mut bytes, FIXED_HEADER, names.as_bytes());
        bytes
    }

    /// Decodes and checks a header from the first bytes of a file (untrusted input).
    ///
    /// `bytes` holds at least the fixed header; the names table is read through `names`,
    /// which is given the byte range to read once it is known to be in bounds.
    fn decode(
        bytes: &[u8],
        file_len: u64,
        names: impl FnOnce(usize, usize) -> io::Result<Vec<u8>>,
    ) -> Result<Self, DecodeError> {
        // A foreign file is reported as such, even when it is also short.
        if let Some(start) = bytes.get(..8) {
            let mut magic = [0u8; 8];
            magic.copy_from_slice(start);
            if magic != MAGIC {
                return Err(SegmentErrorKind::BadMagic { found: magic }.into());
            }
        }
        if bytes.len() < FIXED_HEADER {
            return Err(SegmentErrorKind::TooShort { len: file_len }.into());
        }
        let version = get_u32(bytes, OFF_VERSION);
        if version != VERSION {
            return Err(SegmentErrorKind::Version { found: version }.into());
        }
        let slot_size = get_u32(bytes, OFF_SLOT_SIZE);
        if slot_size as usize != SLOT_SIZE {
            return Err(SegmentErrorKind::SlotSize { found: slot_size }.into());
        }
        let corrupt = |reason: &'static str| -> DecodeError {
            SegmentErrorKind::Corrupt { reason: reason.into() }.into()
        };
        // Every size is checked against its limit before it is used in any arithmetic, so
        // nothing below can overflow and nothing large is allocated or mapped.
        let header_len = get_u64(bytes, OFF_HEADER_LEN);
        check_limit("header length", header_len, MAX_HEADER_LEN as u64)?;
        let header_len = header_len as usize;
        if header_len < HEADER_ALIGN || header_len % HEADER_ALIGN != 0 {
            return Err(corrupt("header length is not a positive multiple of 4096"));
        }
        let rows = get_u32(bytes, OFF_ROWS);
        check_limit("worker rows", rows.into(), MAX_ROWS.into())?;
        let row_width = get_u32(bytes, OFF_ROW_WIDTH);
        check_limit("slots per row", row_width.into(), MAX_ROW_WIDTH.into())?;
        let capacity = get_u64(bytes, OFF_CAPACITY);
        check_limit("capacity", capacity, MAX_FILE_SLOTS as u64)?;
        let capacity = capacity as usize;
        let len = get_u64(bytes, OFF_LEN);
        if len > capacity as u64 {
            return Err(corrupt("slots in use exceed the capacity"));
        }
        let len = len as usize;
        let names_len = get_u32(bytes, OFF_NAMES_LEN) as usize;
        if names_len > header_len - FIXED_HEADER {
            return Err(corrupt("names table overflows the header"));
        }
        let need = header_len + capacity * SLOT_SIZE;
        if file_len < need as u64 {
            return Err(SegmentErrorKind::Truncated { len: file_len, need: need as u64 }.into());
        }
        let names = names(FIXED_HEADER, names_len).map_err(DecodeError::Io)?;
        let fields = Layout::decode_names(&names)?;
        if rows > 0 {
            let row_slots = (rows as usize + 1) * row_width as usize;
            // Whether each row also holds its fields (and what else) is the caller's to check.
            if row_slots > len {
                return Err(corrupt("worker rows do not fit the slots in use"));
            }
        }
        Ok(HeaderInfo { header_len, capacity, len, layout: Layout { rows, row_width, fields } })
    }
}

/// A header decoding failure: a format problem or an I/O error reading the names table.
#[derive(Debug)]
enum DecodeError {
    Format(SegmentErrorKind),
    Io(io::Error),
}

impl From<SegmentErrorKind> for DecodeError {
    fn from(kind: SegmentErrorKind) -> Self {
        DecodeError::Format(kind)
    }
}

fn put(bytes: &mut [u8], offset: usize, value: &[u8]) {
    bytes[offset..offset + value.len()].copy_from_slice(value);
}

fn get_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut buf = [0u8; 4];
    buf.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_ne_bytes(buf)
}

fn get_u64(bytes: &[u8], offset: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_ne_bytes(buf)
}

/// A [`SegmentErrorKind::TooLarge`] naming `field` when `value` is above `limit`.
fn check_limit(field: &'static str, value: u64, limit: u64) -> Result<(), SegmentErrorKind> {
    if value > limit { Err(SegmentErrorKind::TooLarge { field, value, limit }) } else { Ok(()) }
}

fn round_up(n: usize, align: usize) -> usize {
    n.div_ceil(align) * align
}

fn round_up_checked(n: usize, align: usize) -> Option<usize> {
    n.div_ceil(align).checked_mul(align)
}

/// The most slots a segment may have: keeps every size computation far from overflow.
fn max_slots() -> usize {
    (isize::MAX as usize / SLOT_SIZE) / 2
}

/// The host's page size (4096 when `sysconf` cannot tell).
fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| n.is_power_of_two() && *n >= 4096)
        .unwrap_or(4096)
}

/// How a segment file is opened and mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// `O_RDWR`, `PROT_READ | PROT_WRITE`: for processes that count.
    ReadWrite,
    /// `O_RDONLY`, `PROT_READ`: for readers, who then need only read permission on the file.
    /// Nothing may write through such a segment: its only owner,
    /// [`DropsReader`](crate::DropsReader), only makes relaxed atomic loads, which the standard
    /// library documents as sound on read-only memory for 8-byte atomics.
    ReadOnly,
}

/// How [`Segment::create_placed`] puts a new file at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Renamed over whatever is there.
    Replace,
    /// Locked first (the lock is ours before anyone can open it), then renamed over the file
    /// at the path, whose lock the caller holds.
    ReplaceLocked,
    /// Locked first, then linked in only if nothing is at the path (else `Ok(None)`).
    NewLocked,
}

/// A mapped segment: the header and `capacity` slots, shared with every process that maps it.
pub(crate) struct Segment {
    ptr: NonNull<u8>,
    map_len: usize,
    info: HeaderInfo,
    path: Option<PathBuf>,
    /// The file, kept open while its `flock` marks it as ours (see `sys::flock`): forked
    /// children inherit the descriptor, so the lock lasts while any process of the tree lives.
    lock: Option<File>,
}

// SAFETY: the mapping is plain shared memory that lives as long as `Segment`; every access to it
// after construction goes through atomics (`Slot`, the header's `len` and sequence fields), or
// reads header fields that are written once before the segment is shared with anyone.
unsafe impl Send for Segment {}
// SAFETY: as above: shared access is only through atomics and immutable header fields.
unsafe impl Sync for Segment {}

impl Segment {
    /// Maps a new anonymous shared segment of at least `slots` slots, inherited by `fork`.
    pub(crate) fn anonymous(slots: usize, layout: Layout) -> Result<Self, SegmentError> {
        let info = HeaderInfo::for_new(slots, layout).map_err(|k| SegmentError::new(None, k))?;
        let map_len = nonzero(info.total_len());
        // SAFETY: a fresh anonymous mapping aliases no Rust object; the length is non-zero and
        // was computed with overflow checks (`for_new`).
        let ptr = unsafe {
            nix::sys::mman::mmap_anonymous(
                None,
                map_len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .map_err(|errno| SegmentError::io(None, errno.into()))?;
        let segment =
            Segment { ptr: ptr.cast(), map_len: map_len.get(), info, path: None, lock: None };
        segment.write_header();
        Ok(segment)
    }

    /// Creates `path` as a new segment file of at least `slots` slots, mode 0600.
    ///
    /// The file is written under a temporary name in the same directory and renamed into place,
    /// so a process that maps an older file at `path` keeps a valid mapping.
    pub(crate) fn create(path: &Path, slots: usize, layout: Layout) -> Result<Self, SegmentError> {
        Segment::create_placed(path, slots, layout, Placement::Replace)?
            .ok_or_else(|| SegmentError::io(Some(path), io::ErrorKind::AlreadyExists.into()))
    }

    /// Creates a new segment file for `path` under a temporary name, and puts it at `path` as
    /// `placement` says; `Ok(None)` when [`Placement::NewLocked`] found a file there.
    pub(crate) fn create_placed(
        path: &Path,
        slots: usize,
        layout: Layout,
        placement: Placement,
    ) -> Result<Option<Self>, SegmentError> {
        let info = HeaderInfo::for_new(slots, layout)
            .and_then(|info| {
                check_limit("capacity", info.capacity as u64, MAX_FILE_SLOTS as u64)?;
                Ok(info)
            })
            .map_err(|k| SegmentError::new(Some(path), k))?;
        let tmp = temp_path(path);
        let result = (|| {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            file.set_len(info.total_len() as u64)?;
            file.write_all_at(&info.encode(), 0)?;
            let mut segment = Segment::map_file(&file, path, info, Access::ReadWrite)?;
            if placement != Placement::Replace {
                // No one else has opened the file yet: the lock cannot be taken.
                if !crate::sys::flock::try_lock_exclusive(file.as_fd())? {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                segment.lock = Some(file);
            }
            if placement == Placement::NewLocked {
                match std::fs::hard_link(&tmp, path) {
                    Ok(()) => {}
                    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                        // Ours; failing to remove it changes nothing for the caller.
                        let _ = std::fs::remove_file(&tmp);
                        return Ok(None);
                    }
                    Err(err) => return Err(err),
                }
                // The file is in place under `path`; a stray temporary name is harmless.
                let _ = std::fs::remove_file(&tmp);
            } else {
                std::fs::rename(&tmp, path)?;
            }
            Ok(Some(segment))
        })();
        result.map_err(|err: io::Error| {
            // The temporary file is ours; a failure to remove it changes nothing for the caller.
            let _ = std::fs::remove_file(&tmp);
            SegmentError::io_creating(path, err)
        })
    }

    /// Opens an existing segment file, checking its header and size before mapping it.
    pub(crate) fn open(path: &Path, access: Access) -> Result<Self, SegmentError> {
        let write = access == Access::ReadWrite;
        let file = OpenOptions::new()
            .read(true)
            .write(write)
            // A FIFO put where a segment is expected must not block the open (it then reads as
            // an empty file); on a regular file the flag does nothing.
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|source| SegmentError::io(Some(path), source))?;
        Segment::from_file(&file, path, access)
    }

    /// Opens `path` for reading and writing and takes its lock, for the one process tree that
    /// counts into it; a lock held by another process is [`SegmentErrorKind::Locked`].
    /// `Ok(None)` when no file is at `path`, or it was replaced between the open and the lock:
    /// create one, or try again.
    pub(crate) fn open_claimed(path: &Path) -> Result<Option<Self>, SegmentError> {
        let io_err = |source| SegmentError::io(Some(path), source);
        let mut options = OpenOptions::new();
        options.read(true).write(true).custom_flags(libc::O_NONBLOCK);
        let file = match options.open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io_err(err)),
        };
        if !crate::sys::flock::try_lock_exclusive(file.as_fd()).map_err(io_err)? {
            let (pid, command) = crate::locks::holder(&file).unzip();
            let kind = SegmentErrorKind::Locked { pid, command: command.flatten() };
            return Err(SegmentError::new(Some(path), kind));
        }
        // The lock is on the file we opened: make sure that is still the one at `path`.
        let ours = file.metadata().map_err(io_err)?;
        match std::fs::metadata(path) {
            Ok(there) if (there.dev(), there.ino()) == (ours.dev(), ours.ino()) => {}
            _ => return Ok(None),
        }
        let mut segment = Segment::from_file(&file, path, Access::ReadWrite)?;
        segment.lock = Some(file);
        Ok(Some(segment))
    }

    /// Checks the header and size of the open `file`, then maps it.
    fn from_file(file: &File, path: &Path, access: Access) -> Result<Self, SegmentError> {
        let err = |kind| SegmentError::new(Some(path), kind);
        let io_err = |source| SegmentError::io(Some(path), source);
        let file_len = file.metadata().map_err(io_err)?.len();
        let mut fixed = vec![0u8; FIXED_HEADER.min(usize::try_from(file_len).unwrap_or(0))];
        file.read_exact_at(&mut fixed, 0).map_err(io_err)?;
        let info = HeaderInfo::decode(&fixed, file_len, |offset, len| {
            let mut names = vec![0u8; len];
            file.read_exact_at(&mut names, offset as u64)?;
            Ok(names)
        })
        .map_err(|e| match e {
            DecodeError::Format(kind) => err(kind),
            DecodeError::Io(source) => io_err(source),
        })?;
        Segment::map_file(file, path, info, access).map_err(io_err)
    }

    fn map_file(file: &File, path: &Path, info: HeaderInfo, access: Access) -> io::Result<Self> {
        let map_len = nonzero(info.total_len());
        let prot = match access {
            Access::ReadWrite => ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            Access::ReadOnly => ProtFlags::PROT_READ,
        };
        // SAFETY: the file is at least `map_len` bytes long (checked by the caller through
        // `fstat` or set by `set_len`), so every mapped page is backed; the mapping aliases no
        // Rust object. See the module docs for files truncated later by someone else, and
        // `Access::ReadOnly` for who may hold a read-only mapping.
        let ptr =
            unsafe { nix::sys::mman::mmap(None, map_len, prot, MapFlags::MAP_SHARED, file, 0) }?;
        let (map_len, path) = (map_len.get(), Some(path.to_owned()));
        Ok(Segment { ptr: ptr.cast(), map_len, info, path, lock: None })
    }

    /// Copies the header into a fresh anonymous mapping.
    fn write_header(&self) {
        let bytes = self.info.encode();
        // SAFETY: `bytes.len()` is `header_len`, which is within the mapping; the mapping was
        // just created and nothing else references it yet, so the copy races with nothing.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.as_ptr(), bytes.len()) };
    }

    /// The header's atomic field at `offset` (`OFF_LEN` or `OFF_SEQ`).
    fn header_atomic(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset == OFF_LEN || offset == OFF_SEQ);
        // SAFETY: the offset is within the first page of the mapping and 8-byte aligned (the
        // mapping is page-aligned); the field is only ever accessed atomically, and lives as long
        // as `self`.
        unsafe { &*self.ptr.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    /// All `capacity` slots.
    pub(crate) fn slots(&self) -> &[Slot] {
        // SAFETY: the slots start `header_len` bytes (a multiple of 4096, so 128-aligned) into
        // a page-aligned mapping of `header_len + capacity * 128` bytes; a zeroed or written
        // `AtomicU64` is valid for any bit pattern; the slice lives as long as `self`.
        unsafe {
            std::slice::from_raw_parts(
                self.ptr.as_ptr().add(self.info.header_len).cast::<Slot>(),
                self.info.capacity,
            )
        }
    }

    /// All slots viewed as packed 64-bit words (16 per slot): for structures whose words are
    /// written by a single worker, like a shared aggregate's histogram row, where a slot per
    /// word would waste memory.
    pub(crate) fn words(&self) -> &[AtomicU64] {
        // SAFETY: the slot area is `capacity * 128` bytes, 128-aligned, made of `Slot`s, which
        // are `#[repr(C)]` arrays of 16 `AtomicU64` with no padding, so it is exactly
        // `capacity * 16` valid `AtomicU64`s; every access to them is atomic and of the same
        // size as the `Slot` view's; the slice lives as long as `self`.
        unsafe {
            std::slice::from_raw_parts(
                self.ptr.as_ptr().add(self.info.header_len).cast::<AtomicU64>(),
                self.info.capacity * WORDS_PER_SLOT,
            )
        }
    }

    /// The slots in use when the segment was created or opened.
    pub(crate) fn initial_len(&self) -> usize {
        self.info.len
    }

    /// Records the number of slots in use in the header, for processes that open the file later.
    pub(crate) fn store_len(&self, len: usize) {
        // Relaxed: a lone value read when a file is opened.
        self.header_atomic(OFF_LEN).store(len as u64, Ordering::Relaxed);
    }

    /// The retire sequence: odd while a worker row is being retired.
    pub(crate) fn seq(&self) -> &AtomicU64 {
        self.header_atomic(OFF_SEQ)
    }

    pub(crate) fn capacity(&self) -> usize {
        self.info.capacity
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.info.layout
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`map_len` are exactly the mapping made in the constructor, and no
        // reference into it outlives `self` (every accessor borrows `self`).
        // An error here would mean the mapping is already gone; nothing to do about it.
        let _ = unsafe { nix::sys::mman::munmap(self.ptr.cast(), self.map_len) };
    }
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("path", &self.path)
            .field("capacity", &self.info.capacity)
            .field("layout", &self.info.layout)
            .finish()
    }
}

fn nonzero(n: usize) -> NonZeroUsize {
    // The header alone is 4096 bytes.
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

/// `dir/.name.tmp.PID.N`: a unique name next to `path` for writing a new file.
fn temp_path(path: &Path) -> PathBuf {
    use std::sync::atomic::AtomicUsize;
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().map_or(Cow::Borrowed("segment"), |n| n.to_string_lossy());
    path.with_file_name(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn info(slots: usize, fields: &[(&'static str, Kind)], rows: u32) -> HeaderInfo {
        let fields: Vec<Field> =
            fields.iter().map(|&(name, kind)| Field { name: name.into(), kind }).collect();
        // A worker row: the fields, a heartbeat and a pid.
        let row_width = if rows > 0 { (fields.len() + 2) as u32 } else { 0 };
        HeaderInfo::for_new(slots, Layout { rows, row_width, fields }).unwrap()
    }

    fn decode(bytes: &[u8]) -> Result<HeaderInfo, SegmentErrorKind> {
        let file_len = u64::MAX;
        HeaderInfo::decode(bytes, file_len, |offset, len| {
            bytes.get(offset..offset + len).map(<[u8]>::to_vec).ok_or(io::ErrorKind::Other.into())
        })
        .map_err(|e| match e {
            DecodeError::Format(kind) => kind,
            DecodeError::Io(_) => SegmentErrorKind::Io,
        })
    }

    #[test]
    fn header_round_trips() {
        let info = info(12, &[("requests", Kind::Counter), ("calling", Kind::Gauge)], 2);
        assert_eq!(decode(&info.encode()), Ok(info));
    }

    #[test]
    fn capacity_is_page_rounded() {
        let info = info(1, &[], 0);
        assert_eq!(info.capacity * SLOT_SIZE % page_size(), 0);
        assert_eq!(info.len, 1);
    }

    #[test]
    fn neighbouring_slots_are_128_bytes_apart() {
        let slots = [Slot::new(0), Slot::new(1)];
        let a = &slots[0] as *const Slot as usize;
        let b = &slots[1] as *const Slot as usize;
        assert_eq!(b - a, 128);
        assert_eq!(format!("{:?}", slots[1]), "1");
    }

    #[test]
    fn invalid_names_are_rejected() {
        for name in ["", "9lives", "a-b", "a:b", "new\nline"] {
            let layout = Layout {
                rows: 0,
                row_width: 0,
                fields: vec![Field { name: name.to_owned().into(), kind: Kind::Gauge }],
            };
            assert_eq!(
                HeaderInfo::for_new(1, layout),
                Err(SegmentErrorKind::InvalidName { name: name.into() })
            );
        }
    }

    #[test]
    fn sizes_beyond_the_limits_are_refused_naming_the_field() {
        let too_large = |field, value: u64, limit: usize| {
            Err(SegmentErrorKind::TooLarge { field, value, limit: limit as u64 })
        };
        let valid = info(8, &[("a", Kind::Counter)], 1).encode();
        let with = |offset: usize, value: &[u8]| {
            let mut bytes = valid.clone();
            put(&mut bytes, offset, value);
            decode(&bytes)
        };
        let big = u64::MAX - 4095;
        assert_eq!(
            with(OFF_HEADER_LEN, &big.to_ne_bytes()),
            too_large("header length", big, MAX_HEADER_LEN)
        );
        assert_eq!(
            with(OFF_CAPACITY, &u64::MAX.to_ne_bytes()),
            too_large("capacity", u64::MAX, MAX_FILE_SLOTS)
        );
        let rows = MAX_ROWS + 1;
        assert_eq!(
            with(OFF_ROWS, &rows.to_ne_bytes()),
            too_large("worker rows", rows.into(), MAX_ROWS as usize)
        );
        assert_eq!(
            with(OFF_ROW_WIDTH, &u32::MAX.to_ne_bytes()),
            too_large("slots per row", u32::MAX.into(), MAX_ROW_WIDTH as usize)
        );
        let fields = Layout { rows: MAX_ROWS + 1, row_width: 3, fields: Vec::new() };
        assert_eq!(
            HeaderInfo::for_new(1, fields),
            too_large("worker rows", u64::from(MAX_ROWS) + 1, MAX_ROWS as usize)
        );
    }

    proptest! {
        /// Arbitrary header bytes never panic the decoder.
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }

        /// A valid header with arbitrary bytes flipped decodes or errors, never panics.
        #[test]
        fn corrupted_header_never_panics(
            flips in proptest::collection::vec((0usize..128, any::<u8>()), 1..8)
        ) {
            let mut bytes = info(8, &[("a", Kind::Counter)], 1).encode();
            for (offset, value) in flips {
                bytes[offset] = value;
            }
            let _ = decode(&bytes);
        }
    }
}
