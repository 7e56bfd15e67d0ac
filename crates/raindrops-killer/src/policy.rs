//! When to recycle a worker: a [`Policy`] of optional limits, drawn once per worker into
//! [`Limits`], and the [`Reason`] a limit was reached.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use raindrops::memory::MemoryMetric;

/// The default number of requests between two memory (and lifetime) checks.
pub const DEFAULT_CYCLE: u32 = 16;

/// Which limits apply to workers, each optional; [`draw`](Self::draw) picks one worker's.
///
/// Ranges are inclusive. Each worker draws its own limit in the range once, so that workers
/// started together do not all reach their limit at the same moment (stalin's
/// `min + rand(max - min + 1)`).
///
/// ```
/// use std::time::Duration;
/// use raindrops::memory::MemoryMetric;
/// use raindrops_killer::Policy;
///
/// let policy = Policy::new()
///     .max_memory(MemoryMetric::Uss, 200 << 20..=250 << 20)
///     .max_requests(10_000..=12_000)
///     .max_lifetime(Duration::from_secs(3600), Duration::from_secs(600))
///     .cycle(16);
/// let limits = policy.draw()?;
/// assert!((10_000..=12_000).contains(&limits.requests.unwrap()));
/// # Ok::<(), raindrops_killer::PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    memory: Option<(MemoryMetric, RangeInclusive<u64>)>,
    requests: Option<RangeInclusive<u64>>,
    lifetime: Option<(Duration, Duration)>,
    cycle: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new()
    }
}

/// A [`Policy`] that cannot be drawn from.
///
/// ```
/// let err = raindrops_killer::Policy::new().max_requests(10..=5).draw().unwrap_err();
/// assert_eq!(err.to_string(), "max requests: the range 10..=5 is empty (MIN must be at most MAX)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A range whose minimum exceeds its maximum.
    #[error("{what}: the range {min}..={max} is empty (MIN must be at most MAX)")]
    EmptyRange {
        /// Which limit: "max memory" or "max requests".
        what: &'static str,
        /// The range's start.
        min: u64,
        /// The range's end.
        max: u64,
    },
    /// A cycle of 0 requests.
    #[error("the check cycle must be at least 1 request")]
    ZeroCycle,
}

impl Policy {
    /// No limits, checked every [`DEFAULT_CYCLE`] requests.
    ///
    /// ```
    /// assert_eq!(raindrops_killer::Policy::new().draw()?, raindrops_killer::Limits::default());
    /// # Ok::<(), raindrops_killer::PolicyError>(())
    /// ```
    pub fn new() -> Self {
        Policy { memory: None, requests: None, lifetime: None, cycle: DEFAULT_CYCLE }
    }

    /// Recycles a worker whose `metric` exceeds a limit drawn in `bytes`.
    ///
    /// ```
    /// use raindrops::memory::MemoryMetric;
    /// let limits = raindrops_killer::Policy::new().max_memory(MemoryMetric::Rss, 5..=5).draw()?;
    /// assert_eq!(limits.memory, Some((MemoryMetric::Rss, 5)));
    /// # Ok::<(), raindrops_killer::PolicyError>(())
    /// ```
    pub fn max_memory(mut self, metric: MemoryMetric, bytes: RangeInclusive<u64>) -> Self {
        self.memory = Some((metric, bytes));
        self
    }

    /// Recycles a worker once it has served a number of requests drawn in `requests`.
    ///
    /// ```
    /// let limits = raindrops_killer::Policy::new().max_requests(3..=3).draw()?;
    /// assert_eq!(limits.requests, Some(3));
    /// # Ok::<(), raindrops_killer::PolicyError>(())
    /// ```
    pub fn max_requests(mut self, requests: RangeInclusive<u64>) -> Self {
        self.requests = Some(requests);
        self
    }

    /// Recycles a worker older than `lifetime` plus a jitter drawn in `0..=jitter`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let second = Duration::from_secs(1);
    /// let limits = raindrops_killer::Policy::new().max_lifetime(second, Duration::ZERO).draw()?;
    /// assert_eq!(limits.lifetime, Some(second));
    /// # Ok::<(), raindrops_killer::PolicyError>(())
    /// ```
    pub fn max_lifetime(mut self, lifetime: Duration, jitter: Duration) -> Self {
        self.lifetime = Some((lifetime, jitter));
        self
    }

    /// Checks memory and lifetime every `requests` requests (the request count is compared on
    /// every request: it costs nothing).
    ///
    /// ```
    /// assert_eq!(raindrops_killer::Policy::new().cycle(4).draw()?.cycle, 4);
    /// # Ok::<(), raindrops_killer::PolicyError>(())
    /// ```
    pub fn cycle(mut self, requests: u32) -> Self {
        self.cycle = requests;
        self
    }

    /// Draws one worker's limits, with a generator seeded from this process's pid and the
    /// clocks, so that workers forked from one master draw differently.
    ///
    /// # Errors
    ///
    /// When a range is empty or the cycle is 0.
    ///
    /// ```
    /// let policy = raindrops_killer::Policy::new().max_requests(100..=200);
    /// let requests = policy.draw()?.requests.unwrap();
    /// assert!((100..=200).contains(&requests));
    /// # Ok::<(), raindrops_killer::PolicyError>(())
    /// ```
    pub fn draw(&self) -> Result<Limits, PolicyError> {
        self.draw_with(&mut fastrand::Rng::with_seed(process_seed()))
    }

    /// [`draw`](Self::draw) with a given generator.
    fn draw_with(&self, rng: &mut fastrand::Rng) -> Result<Limits, PolicyError> {
        if self.cycle == 0 {
            return Err(PolicyError::ZeroCycle);
        }
        let memory = match &self.memory {
            Some((metric, range)) => Some((*metric, pick(rng, "max memory", range)?)),
            None => None,
        };
        let requests = match &self.requests {
            Some(range) => Some(pick(rng, "max requests", range)?),
            None => None,
        };
        let lifetime = self.lifetime.map(|(lifetime, jitter)| {
            let jitter_ns = u64::try_from(jitter.as_nanos()).unwrap_or(u64::MAX);
            lifetime.saturating_add(Duration::from_nanos(rng.u64(0..=jitter_ns)))
        });
        Ok(Limits { memory, requests, lifetime, cycle: self.cycle })
    }
}

/// `min + rand(max - min + 1)`: uniform in the inclusive range.
fn pick(
    rng: &mut fastrand::Rng,
    what: &'static str,
    range: &RangeInclusive<u64>,
) -> Result<u64, PolicyError> {
    let (min, max) = (*range.start(), *range.end());
    if min > max {
        return Err(PolicyError::EmptyRange { what, min, max });
    }
    Ok(rng.u64(min..=max))
}

/// A seed that differs between processes forked at the same instant (the pid) and between
/// runs (the clocks).
fn process_seed() -> u64 {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (u64::from(std::process::id()) << 32) ^ wall ^ raindrops::monotonic_ms().rotate_left(17)
}

/// One worker's limits, drawn from a [`Policy`].
///
/// ```
/// let limits = raindrops_killer::Limits { requests: Some(2), ..Default::default() };
/// assert_eq!(limits.cycle, raindrops_killer::DEFAULT_CYCLE);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The memory metric and the most bytes allowed.
    pub memory: Option<(MemoryMetric, u64)>,
    /// The most requests served.
    pub requests: Option<u64>,
    /// The longest life.
    pub lifetime: Option<Duration>,
    /// Requests between two memory and lifetime checks.
    pub cycle: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory: None, requests: None, lifetime: None, cycle: DEFAULT_CYCLE }
    }
}

/// Why a worker is recycled: the figure measured and the limit it reached.
///
/// ```
/// use raindrops_killer::Reason;
/// let reason = Reason::Requests { served: 120, limit: 120 };
/// assert_eq!(reason.to_string(), "served 120 requests (limit 120)");
/// assert_eq!((reason.label(), reason.measured(), reason.limit()), ("requests", 120, 120));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The memory metric exceeded its limit.
    Memory {
        /// The metric measured.
        metric: MemoryMetric,
        /// Bytes measured.
        measured: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The worker served its share of requests.
    Requests {
        /// Requests served.
        served: u64,
        /// The limit.
        limit: u64,
    },
    /// The worker lived its life.
    Lifetime {
        /// The worker's age.
        age: Duration,
        /// The limit.
        limit: Duration,
    },
    /// Something else asked (an operator, a supervisor's memory budget).
    Requested,
}

impl Reason {
    /// A short name for metrics labels and logs: `memory`, `requests`, `lifetime`, `requested`.
    ///
    /// ```
    /// assert_eq!(raindrops_killer::Reason::Requested.label(), "requested");
    /// ```
    pub fn label(&self) -> &'static str {
        match self {
            Reason::Memory { .. } => "memory",
            Reason::Requests { .. } => "requests",
            Reason::Lifetime { .. } => "lifetime",
            Reason::Requested => "requested",
        }
    }

    /// The figure measured: bytes, requests or milliseconds of age (0 when requested).
    ///
    /// ```
    /// use std::time::Duration;
    /// let age = Duration::from_millis(1500);
    /// let reason = raindrops_killer::Reason::Lifetime { age, limit: age };
    /// assert_eq!(reason.measured(), 1500);
    /// ```
    pub fn measured(&self) -> u64 {
        match *self {
            Reason::Memory { measured, .. } => measured,
            Reason::Requests { served, .. } => served,
            Reason::Lifetime { age, .. } => millis(age),
            Reason::Requested => 0,
        }
    }

    /// The limit reached, in the unit of [`measured`](Self::measured).
    ///
    /// ```
    /// use raindrops::memory::MemoryMetric;
    /// let reason = raindrops_killer::Reason::Memory { metric: MemoryMetric::Uss, measured: 9, limit: 8 };
    /// assert_eq!(reason.limit(), 8);
    /// ```
    pub fn limit(&self) -> u64 {
        match *self {
            Reason::Memory { limit, .. } | Reason::Requests { limit, .. } => limit,
            Reason::Lifetime { limit, .. } => millis(limit),
            Reason::Requested => 0,
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Memory { metric, measured, limit } => {
                write!(f, "{metric} {measured} bytes exceeds the limit of {limit} bytes")
            }
            Reason::Requests { served, limit } => {
                write!(f, "served {served} requests (limit {limit})")
            }
            Reason::Lifetime { age, limit } => {
                write!(f, "lived {:.3} s (limit {:.3} s)", age.as_secs_f64(), limit.as_secs_f64())
            }
            Reason::Requested => f.write_str("recycling was requested"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_cover_the_whole_range_and_nothing_else() {
        let policy = Policy::new()
            .max_requests(10..=13)
            .max_memory(MemoryMetric::Pss, 0..=1)
            .max_lifetime(Duration::from_secs(5), Duration::from_nanos(2));
        let mut rng = fastrand::Rng::with_seed(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let limits = policy.draw_with(&mut rng).unwrap();
            seen.insert((
                limits.requests.unwrap(),
                limits.memory.unwrap().1,
                limits.lifetime.unwrap().subsec_nanos(),
            ));
        }
        // 4 request limits × 2 memory limits × 3 jitters, each drawn at least once in 1000.
        assert_eq!(seen.len(), 24);
        assert!(seen.iter().all(|&(r, m, j)| (10..=13).contains(&r) && m <= 1 && j <= 2));
    }

    #[test]
    fn bad_policies_are_refused_with_the_limit_named() {
        let err = Policy::new()
            .max_memory(MemoryMetric::Uss, RangeInclusive::new(2, 1))
            .draw()
            .unwrap_err();
        assert_eq!(err, PolicyError::EmptyRange { what: "max memory", min: 2, max: 1 });
        assert_eq!(Policy::new().cycle(0).draw(), Err(PolicyError::ZeroCycle));
        let full = Policy::new().max_requests(0..=u64::MAX).draw().unwrap();
        assert!(full.requests.is_some());
    }
}
