//! [`MemoryMetric`]: which memory figure of a process to measure, and its names.

use std::fmt;
use std::str::FromStr;

/// Which memory figure of a process to measure; see the [module docs](super).
///
/// Parses from `rss`, `pss`, `uss` or `cgroup` (any case), as the CLI's `--memory-metric`.
///
/// ```
/// use raindrops::memory::MemoryMetric;
///
/// assert_eq!("USS".parse::<MemoryMetric>()?, MemoryMetric::Uss);
/// assert_eq!(MemoryMetric::Pss.to_string(), "pss");
/// assert!("vsz".parse::<MemoryMetric>().is_err());
/// # Ok::<(), raindrops::memory::UnknownMetric>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MemoryMetric {
    /// Resident set size: shared pages counted in full.
    Rss,
    /// Proportional set size: shared pages divided among their sharers.
    Pss,
    /// Unique set size: private pages only; the default, right for forked workers.
    #[default]
    Uss,
    /// The usage of the process's cgroup (all its processes and page cache).
    Cgroup,
}

impl MemoryMetric {
    /// Every metric, in the order of the docs.
    ///
    /// ```
    /// assert_eq!(raindrops::memory::MemoryMetric::ALL.len(), 4);
    /// ```
    pub const ALL: [MemoryMetric; 4] =
        [MemoryMetric::Rss, MemoryMetric::Pss, MemoryMetric::Uss, MemoryMetric::Cgroup];

    /// The metric's name, as parsed.
    ///
    /// ```
    /// assert_eq!(raindrops::memory::MemoryMetric::Cgroup.name(), "cgroup");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            MemoryMetric::Rss => "rss",
            MemoryMetric::Pss => "pss",
            MemoryMetric::Uss => "uss",
            MemoryMetric::Cgroup => "cgroup",
        }
    }
}

impl fmt::Display for MemoryMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A memory metric name that is none of `rss`, `pss`, `uss`, `cgroup`.
///
/// ```
/// let err = "vsz".parse::<raindrops::memory::MemoryMetric>().unwrap_err();
/// assert_eq!(err.to_string(), "unknown memory metric \"vsz\" (expected rss, pss, uss or cgroup)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown memory metric {0:?} (expected rss, pss, uss or cgroup)")]
pub struct UnknownMetric(pub String);

impl FromStr for MemoryMetric {
    type Err = UnknownMetric;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MemoryMetric::ALL
            .into_iter()
            .find(|metric| metric.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownMetric(s.to_owned()))
    }
}
