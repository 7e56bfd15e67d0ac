//! How much memory a process uses: RSS, PSS, USS or its cgroup's usage.
//!
//! | metric | source | counts |
//! |---|---|---|
//! | [`Rss`](MemoryMetric::Rss) | `/proc/PID/statm` (or `ps -o rss= -p PID` without procfs) | every resident page mapped, shared ones in full |
//! | [`Pss`](MemoryMetric::Pss) | `/proc/PID/smaps_rollup` | private pages in full, each shared page divided by its sharers |
//! | [`Uss`](MemoryMetric::Uss) | `/proc/PID/smaps_rollup` | private pages only: `Private_Clean + Private_Dirty + Private_Hugetlb` |
//! | [`Cgroup`](MemoryMetric::Cgroup) | the pid's cgroup: v2 `memory.current` (v1 `memory.usage_in_bytes`) | everything charged to the cgroup, page cache included |
//!
//! # Which metric for a forked worker
//!
//! After `fork`, a worker shares every page of the master until it writes to it. RSS counts
//! those shared pages in each worker in full, so every worker looks as big as the master and a
//! limit on RSS recycles workers for memory they do not own. USS is what a worker alone costs
//! (what the host gets back when it exits); PSS adds a fair share of what it shares, so PSS
//! summed over workers is their true total. Use USS (or PSS) for forked workers, RSS for a
//! single process, the cgroup for a whole container.
//!
//! # Cost
//!
//! A [`MemoryProbe`] opens its file once and rereads it with `pread` into a stack buffer,
//! parsing without allocating: a statm check is one system call (see `benches/memory.rs`).
//! `smaps_rollup` costs more (the kernel walks every mapping); `ps` forks a process.
//! A reopened file refers to the process it was opened for: once that process is gone, reads
//! fail instead of silently measuring a new process that reused the pid.
//!
//! ```
//! use raindrops::memory::{MemoryMetric, MemoryProbe};
//!
//! let probe = MemoryProbe::new(std::process::id(), "rss".parse()?)?;
//! assert!(probe.read()? > 0);
//! assert!(MemoryMetric::Uss.read(std::process::id())? > 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cgroup;
mod error;
mod metric;
mod number;
mod procfs;
mod ps;
mod smaps;
mod statm;

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub use cgroup::{CgroupPaths, cgroup_memory_file};
pub use error::MemoryError;
pub use metric::{MemoryMetric, UnknownMetric};
pub use number::ParseError;
pub use ps::ps_rss;
pub use smaps::SmapsRollup;
pub use statm::Statm;

use procfs::procfs_mounted;

impl MemoryMetric {
    /// Measures `pid` once, in bytes (opens, reads and closes the source).
    ///
    /// # Errors
    ///
    /// See [`MemoryProbe::new`] and [`MemoryProbe::read`].
    ///
    /// ```
    /// use raindrops::memory::MemoryMetric;
    /// assert!(MemoryMetric::Rss.read(std::process::id())? > 0);
    /// # Ok::<(), raindrops::memory::MemoryError>(())
    /// ```
    pub fn read(self, pid: u32) -> Result<u64, MemoryError> {
        MemoryProbe::new(pid, self)?.read()
    }
}

impl SmapsRollup {
    /// Reads `/proc/PID/smaps_rollup` once.
    ///
    /// # Errors
    ///
    /// As [`MemoryProbe::new`] and [`MemoryProbe::read`].
    ///
    /// ```
    /// let rollup = raindrops::memory::SmapsRollup::read(std::process::id())?;
    /// assert!(rollup.uss() <= rollup.pss);
    /// # Ok::<(), raindrops::memory::MemoryError>(())
    /// ```
    pub fn read(pid: u32) -> Result<SmapsRollup, MemoryError> {
        MemoryProbe::new(pid, MemoryMetric::Pss)?.read_rollup()
    }

    /// The figure `metric` names, from this one read: RSS, PSS or USS; `None` for the
    /// cgroup, which `smaps_rollup` does not hold.
    ///
    /// ```
    /// use raindrops::memory::{MemoryMetric, SmapsRollup};
    ///
    /// let rollup = SmapsRollup { rss: 9, pss: 5, private_clean: 1, private_dirty: 2, ..Default::default() };
    /// assert_eq!(rollup.get(MemoryMetric::Rss), Some(9));
    /// assert_eq!(rollup.get(MemoryMetric::Pss), Some(5));
    /// assert_eq!(rollup.get(MemoryMetric::Uss), Some(3));
    /// assert_eq!(rollup.get(MemoryMetric::Cgroup), None);
    /// ```
    pub fn get(&self, metric: MemoryMetric) -> Option<u64> {
        match metric {
            MemoryMetric::Rss => Some(self.rss),
            MemoryMetric::Pss => Some(self.pss),
            MemoryMetric::Uss => Some(self.uss()),
            MemoryMetric::Cgroup => None,
        }
    }
}

/// A memory source of one process, opened once and reread on each [`read`](Self::read).
///
/// RSS, PSS and USS read a file of `/proc/PID`; the cgroup metric reads the `memory.current`
/// of the cgroup the process was in when the probe was made. Without procfs, RSS asks `ps`.
///
/// ```
/// use raindrops::memory::{MemoryMetric, MemoryProbe};
///
/// let probe = MemoryProbe::new(std::process::id(), MemoryMetric::Pss)?;
/// let before = probe.read()?;
/// let buffer = vec![1u8; 8 << 20]; // 8 MiB, touched
/// assert!(probe.read()? >= before + 7 * (1 << 20));
/// # drop(buffer);
/// # Ok::<(), raindrops::memory::MemoryError>(())
/// ```
#[derive(Debug)]
pub struct MemoryProbe {
    pid: u32,
    metric: MemoryMetric,
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// A procfs or cgroup file, and its path for error messages.
    File(File, PathBuf),
    /// No procfs: `ps`.
    Ps,
}

/// Room for `/proc/4294967295/smaps_rollup` and more.
const PATH_CAPACITY: usize = 40;
/// `statm` is seven numbers of at most 20 digits each.
const STATM_CAPACITY: usize = 256;
/// `smaps_rollup` is about 1 KiB (25 lines on Linux 6.x); room for twice as many lines.
const SMAPS_CAPACITY: usize = 4096;
/// `memory.current` is one number.
const CGROUP_CAPACITY: usize = 64;

impl MemoryProbe {
    /// Opens `metric`'s source for `pid`.
    ///
    /// # Errors
    ///
    /// [`MemoryError::NoProcess`] when `pid` does not exist, [`MemoryError::NoCgroup`] when its
    /// cgroup has no memory accounting, [`MemoryError::Unsupported`] for PSS, USS or the
    /// cgroup without procfs, [`MemoryError::Read`] for any other I/O error.
    ///
    /// ```
    /// use raindrops::memory::{MemoryMetric, MemoryProbe};
    /// let probe = MemoryProbe::new(std::process::id(), MemoryMetric::Rss)?;
    /// assert_eq!(probe.metric(), MemoryMetric::Rss);
    /// # Ok::<(), raindrops::memory::MemoryError>(())
    /// ```
    pub fn new(pid: u32, metric: MemoryMetric) -> Result<Self, MemoryError> {
        let file = match metric {
            MemoryMetric::Rss => "statm",
            MemoryMetric::Pss | MemoryMetric::Uss => "smaps_rollup",
            MemoryMetric::Cgroup => {
                let path = cgroup_memory_file(pid)?;
                let file = File::open(&path)
                    .map_err(|source| MemoryError::Read { file: path.clone(), source })?;
                return Ok(MemoryProbe { pid, metric, source: Source::File(file, path) });
            }
        };
        let mut buf = [0u8; PATH_CAPACITY];
        let path = proc_path(&mut buf, pid, file);
        match File::open(path) {
            Ok(file) => {
                Ok(MemoryProbe { pid, metric, source: Source::File(file, path.to_owned()) })
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                if procfs_mounted() {
                    Err(MemoryError::NoProcess { pid })
                } else if metric == MemoryMetric::Rss {
                    Ok(MemoryProbe { pid, metric, source: Source::Ps })
                } else {
                    Err(MemoryError::Unsupported { metric, pid })
                }
            }
            Err(source) => Err(MemoryError::Read { file: path.to_owned(), source }),
        }
    }

    /// The process measured.
    ///
    /// ```
    /// # use raindrops::memory::{MemoryMetric, MemoryProbe};
    /// let probe = MemoryProbe::new(std::process::id(), MemoryMetric::Rss)?;
    /// assert_eq!(probe.pid(), std::process::id());
    /// # Ok::<(), raindrops::memory::MemoryError>(())
    /// ```
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The metric measured.
    ///
    /// ```
    /// # use raindrops::memory::{MemoryMetric, MemoryProbe};
    /// let probe = MemoryProbe::new(std::process::id(), MemoryMetric::Uss)?;
    /// assert_eq!(probe.metric(), MemoryMetric::Uss);
    /// # Ok::<(), raindrops::memory::MemoryError>(())
    /// ```
    pub fn metric(&self) -> MemoryMetric {
        self.metric
    }

    /// Measures now, in bytes. Reading procfs or a cgroup file does not allocate; the `ps`
    /// fallback spawns a process.
    ///
    /// # Errors
    ///
    /// [`MemoryError::NoProcess`] once the process is gone, [`MemoryError::Malformed`] if the
    /// file's format is unknown, [`MemoryError::Read`] or [`MemoryError::Ps`] otherwise.
    ///
    /// ```
    /// # use raindrops::memory::{MemoryMetric, MemoryProbe};
    /// let probe = MemoryProbe::new(std::process::id(), MemoryMetric::Rss)?;
    /// assert_eq!(probe.read()? % 4096, 0); // whole pages
    /// # Ok::<(), raindrops::memory::MemoryError>(())
    /// ```
    pub fn read(&self) -> Result<u64, MemoryError> {
        let (file, path) = match &self.source {
            Source::File(file, path) => (file, path),
            Source::Ps => return ps_rss(self.pid),
        };
        let malformed = |source| MemoryError::Malformed { file: path.clone(), source };
        match self.metric {
            MemoryMetric::Rss => {
                let mut buf = [0u8; STATM_CAPACITY];
                let statm = Statm::parse(self.reread(file, path, &mut buf)?).map_err(malformed)?;
                Ok(statm.resident.saturating_mul(page_size()))
            }
            MemoryMetric::Pss => Ok(self.rollup(file, path)?.pss),
            MemoryMetric::Uss => Ok(self.rollup(file, path)?.uss()),
            MemoryMetric::Cgroup => {
                let mut buf = [0u8; CGROUP_CAPACITY];
                number::parse_line(self.reread(file, path, &mut buf)?).map_err(malformed)
            }
        }
    }

    /// Rereads all of `smaps_rollup` (for a PSS or USS probe): RSS, PSS and USS from one
    /// read, without allocating.
    ///
    /// # Errors
    ///
    /// [`MemoryError::Unsupported`] for an RSS or cgroup probe; otherwise as [`read`](Self::read).
    ///
    /// ```
    /// use raindrops::memory::{MemoryMetric, MemoryProbe};
    ///
    /// let probe = MemoryProbe::new(std::process::id(), MemoryMetric::Pss)?;
    /// let rollup = probe.read_rollup()?;
    /// assert!(rollup.uss() <= rollup.pss && rollup.pss <= rollup.rss);
    /// let statm = MemoryProbe::new(std::process::id(), MemoryMetric::Rss)?;
    /// assert!(statm.read_rollup().is_err());
    /// # Ok::<(), raindrops::memory::MemoryError>(())
    /// ```
    pub fn read_rollup(&self) -> Result<SmapsRollup, MemoryError> {
        match &self.source {
            Source::File(file, path)
                if matches!(self.metric, MemoryMetric::Pss | MemoryMetric::Uss) =>
            {
                self.rollup(file, path)
            }
            _ => Err(MemoryError::Unsupported { metric: self.metric, pid: self.pid }),
        }
    }

    /// Reads and parses `smaps_rollup`.
    fn rollup(&self, file: &File, path: &Path) -> Result<SmapsRollup, MemoryError> {
        let mut buf = [0u8; SMAPS_CAPACITY];
        SmapsRollup::parse(self.reread(file, path, &mut buf)?)
            .map_err(|source| MemoryError::Malformed { file: path.to_owned(), source })
    }

    /// Reads `file` from its start into `buf`; the bytes read.
    fn reread<'b>(
        &self,
        file: &File,
        path: &Path,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], MemoryError> {
        let mut len = 0;
        loop {
            match file.read_at(&mut buf[len..], len as u64) {
                Ok(0) => return Ok(&buf[..len]),
                Ok(n) => len += n,
                // The process exited: its /proc files answer ESRCH (or are empty).
                Err(err) if err.raw_os_error() == Some(libc::ESRCH) => {
                    return Err(MemoryError::NoProcess { pid: self.pid });
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(MemoryError::Read { file: path.to_owned(), source }),
            }
            if len == buf.len() {
                return Err(MemoryError::Malformed {
                    file: path.to_owned(),
                    source: ParseError::new("longer than expected"),
                });
            }
        }
    }
}

/// Writes `/proc/{pid}/{file}` into `buf` without allocating; returns it as a path.
fn proc_path<'b>(buf: &'b mut [u8; PATH_CAPACITY], pid: u32, file: &str) -> &'b Path {
    use std::io::Write;
    use std::os::unix::ffi::OsStrExt;

    let mut cursor = io::Cursor::new(&mut buf[..]);
    // 6 + 10 + 1 + 12 bytes at most: always fits.
    let fits = write!(cursor, "/proc/{pid}/{file}").is_ok();
    debug_assert!(fits, "{file} too long for the path buffer");
    let len = cursor.position() as usize;
    Path::new(std::ffi::OsStr::from_bytes(&buf[..len]))
}

/// The host's page size in bytes.
fn page_size() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE) {
        Ok(Some(size)) if size > 0 => size as u64,
        _ => 4096,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_paths_fit_for_every_pid() {
        let mut buf = [0u8; PATH_CAPACITY];
        assert_eq!(proc_path(&mut buf, u32::MAX, "smaps_rollup"), "/proc/4294967295/smaps_rollup");
        let mut buf = [0u8; PATH_CAPACITY];
        assert_eq!(proc_path(&mut buf, 1, "statm"), "/proc/1/statm");
    }

    #[test]
    fn every_metric_parses_from_its_name() {
        for metric in MemoryMetric::ALL {
            assert_eq!(metric.name().parse::<MemoryMetric>(), Ok(metric));
            assert_eq!(metric.to_string().to_uppercase().parse::<MemoryMetric>(), Ok(metric));
        }
        assert_eq!("".parse::<MemoryMetric>(), Err(UnknownMetric(String::new())));
    }

    #[test]
    fn rss_of_this_process_agrees_with_statm_read_by_std() {
        let pid = std::process::id();
        let rss = MemoryMetric::Rss.read(pid).unwrap();
        let text = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = text.split(' ').nth(1).unwrap().parse().unwrap();
        // Both readings are pages; a few may have been faulted in between.
        assert!(rss.abs_diff(pages * page_size()) < 64 * page_size(), "{rss} vs {pages} pages");
    }

    #[test]
    fn uss_is_at_most_pss_at_most_rss() {
        let pid = std::process::id();
        let rollup = SmapsRollup::read(pid).unwrap();
        assert!(rollup.uss() <= rollup.pss && rollup.pss <= rollup.rss, "{rollup:?}");
    }

    #[test]
    fn this_process_has_a_cgroup_usage() {
        let pid = std::process::id();
        let file = cgroup_memory_file(pid).unwrap();
        let usage = MemoryMetric::Cgroup.read(pid).unwrap();
        // Our own resident pages are charged to our cgroup.
        let rss = MemoryMetric::Rss.read(pid).unwrap();
        assert!(usage >= rss, "{} = {usage} < our RSS {rss}", file.display());
    }
}
