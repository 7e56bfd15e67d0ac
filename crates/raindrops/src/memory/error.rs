//! [`MemoryError`]: why a process's memory could not be measured.

use std::io;
use std::path::PathBuf;

use super::metric::MemoryMetric;
use super::number::ParseError;

/// Why a process's memory could not be measured.
///
/// ```
/// use raindrops::memory::{MemoryError, MemoryMetric};
///
/// // Pid 0 is never a process.
/// let err = MemoryMetric::Rss.read(0).unwrap_err();
/// assert!(matches!(err, MemoryError::NoProcess { pid: 0 }), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// The process does not exist (any more).
    #[error("no process {pid} (it exited, or the pid is wrong)")]
    NoProcess {
        /// The pid asked about.
        pid: u32,
    },
    /// A file could not be opened or read.
    #[error("cannot read {}: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The error opening or reading it.
        #[source]
        source: io::Error,
    },
    /// A file did not have the expected format.
    #[error("malformed {}: {source} (please report this with your kernel version)", file.display())]
    Malformed {
        /// The file.
        file: PathBuf,
        /// What was wrong.
        #[source]
        source: ParseError,
    },
    /// `ps -o rss= -p PID` could not run or did not answer a number.
    #[error("`ps -o rss= -p {pid}` failed: {detail}")]
    Ps {
        /// The pid asked about.
        pid: u32,
        /// What went wrong.
        detail: String,
    },
    /// The process's cgroup has no memory accounting file.
    #[error("no cgroup memory usage for pid {pid}: {detail}")]
    NoCgroup {
        /// The pid asked about.
        pid: u32,
        /// What was looked for.
        detail: String,
    },
    /// The metric needs procfs, which this host does not have.
    #[error(
        "{metric} of pid {pid} needs /proc/PID/smaps_rollup (Linux 4.14 or later with /proc mounted)"
    )]
    Unsupported {
        /// The metric asked for.
        metric: MemoryMetric,
        /// The pid asked about.
        pid: u32,
    },
}
