//! [`SegmentError`]: why a segment could not be created or opened, naming the file.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::format::{FIXED_HEADER, MAGIC, VERSION};
use super::slot::SLOT_SIZE;

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
    pub(super) fn io_creating(path: &Path, source: io::Error) -> Self {
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

    pub(super) fn io(path: Option<&Path>, source: io::Error) -> Self {
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
