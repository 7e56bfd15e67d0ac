//! Reading the numbers: listener stats from the kernel, worker rows from a segment file and a
//! master's workers from `/proc` ([`master`](super::master)).
//!
//! Every failure becomes a message inside the [`Sample`], so the screen can show it and try
//! again on the next tick: a missing segment file may appear, netlink may come back.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use raindrops::memory::MemoryMetric;
use raindrops::{DropsReader, ListenStats, ListenerAddr, QueueWait, SockDiag};

use super::master::{self, MasterWorkers};
use crate::cli::TopArgs;
use crate::exit::UsageError;

/// One listener's numbers at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Listener {
    /// The listener, as the kernel reports it (or as given, normalized).
    pub(super) addr: ListenerAddr,
    /// Its active and queued connections.
    pub(super) stats: ListenStats,
    /// How long its oldest queued connection has waited, in ms (`None` when none waits, and
    /// for Unix listeners, whose kernel keeps no such clock).
    pub(super) oldest_ms: Option<u32>,
}

/// One worker row of a segment, with what `/proc` says of its pid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct WorkerRow {
    /// The row's index in the segment.
    pub(super) index: usize,
    /// The pid the worker recorded, if any.
    pub(super) pid: Option<u32>,
    /// The segment's fields, in declaration order.
    pub(super) values: Vec<u64>,
    /// Resident memory of the pid in bytes, if it could be read.
    pub(super) memory: Option<u64>,
    /// Milliseconds since the worker's last heartbeat, if it ever beat.
    pub(super) heartbeat_age_ms: Option<u64>,
}

/// The worker rows of a segment and their sums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Workers {
    /// The field names (the table's columns between pid and memory).
    pub(super) fields: Vec<String>,
    /// One entry per worker row.
    pub(super) rows: Vec<WorkerRow>,
    /// Per field: every row's value, plus the retired row's for counters.
    pub(super) total: Vec<u64>,
    /// The sum of the rows' known memory, if any was known.
    pub(super) total_memory: Option<u64>,
}

/// What one tick read; errors are messages for the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Sample {
    /// The listeners, or why they could not be read.
    pub(super) listeners: Result<Vec<Listener>, String>,
    /// The segment's rows when `--segment` was given, or why they could not be read.
    pub(super) workers: Option<Result<Workers, String>>,
    /// The master's workers when `--master` was given, or why they could not be read.
    pub(super) master: Option<Result<MasterWorkers, String>>,
}

/// Which listeners to ask for.
#[derive(Debug)]
enum Targets {
    /// These addresses, in the order given.
    Given(Vec<ListenerAddr>),
    /// Every TCP listener of the host, and every Unix one with `unix`.
    All {
        /// Also list Unix stream listeners.
        unix: bool,
    },
}

/// Takes samples; holds the netlink socket between them.
#[derive(Debug)]
pub(super) struct Sampler {
    /// The netlink socket; `None` until opened, and after a failure (reopened next tick).
    diag: Option<SockDiag>,
    targets: Targets,
    segment: Option<PathBuf>,
    master: Option<u32>,
    recycle: Option<SocketAddr>,
}

impl Sampler {
    /// A sampler for the command line's addresses and segment; a bad ADDR is a usage error.
    pub(super) fn new(args: &TopArgs) -> Result<Sampler, UsageError> {
        let targets = if args.addrs.is_empty() {
            Targets::All { unix: args.unix }
        } else {
            let mut addrs = Vec::new();
            for arg in &args.addrs {
                let addr =
                    ListenerAddr::from_os_str(arg).map_err(|e| UsageError(format!("{e}")))?;
                if !addrs.contains(&addr) {
                    addrs.push(addr);
                }
            }
            Targets::Given(addrs)
        };
        Ok(Sampler {
            diag: None,
            targets,
            segment: args.segment.clone(),
            master: args.master,
            recycle: args.recycle,
        })
    }

    /// Reads the listeners, the segment and the master's workers once.
    pub(super) fn sample(&mut self) -> Sample {
        let listeners = self.listeners().map_err(|e| format!("cannot query listener stats: {e}"));
        if listeners.is_err() {
            // Start afresh next tick: the socket may be what failed.
            self.diag = None;
        }
        let workers = self.segment.as_ref().map(|path| read_workers(path));
        let master = self.master.map(|pid| master::read(pid, self.recycle));
        Sample { listeners, workers, master }
    }

    /// One dump per address family gives the stats and the queued connections' ages.
    fn listeners(&mut self) -> Result<Vec<Listener>, raindrops::ListenError> {
        let diag = match &mut self.diag {
            Some(diag) => diag,
            None => self.diag.insert(SockDiag::new()?),
        };
        match &self.targets {
            Targets::Given(addrs) => {
                let waits = diag.waits(addrs)?;
                Ok(addrs
                    .iter()
                    .zip(waits)
                    .map(|(a, (stats, wait))| Listener {
                        addr: a.clone(),
                        stats,
                        oldest_ms: wait.as_ref().and_then(QueueWait::oldest_ms),
                    })
                    .collect())
            }
            Targets::All { unix } => {
                let mut all: Vec<Listener> = diag
                    .tcp_all_waits()?
                    .into_iter()
                    .map(|(addr, stats, wait)| Listener {
                        addr: addr.into(),
                        stats,
                        oldest_ms: wait.oldest_ms(),
                    })
                    .collect();
                if *unix {
                    all.extend(diag.unix_all()?.into_iter().map(|(path, stats)| Listener {
                        addr: ListenerAddr::Unix(path),
                        stats,
                        oldest_ms: None,
                    }));
                }
                Ok(all)
            }
        }
    }
}

/// Reads every worker row of the segment file at `path`, opened afresh (read-only, its header
/// checked against the segment limits) so that a file replaced by a restarting server is
/// followed.
fn read_workers(path: &Path) -> Result<Workers, String> {
    let drops = DropsReader::open(path).map_err(|e| e.to_string())?;
    let view = drops.workers().ok_or_else(|| {
        format!(
            "{}: not a workers segment (it has no worker rows; `raindrops dump` prints it)",
            path.display()
        )
    })?;
    let snapshot = view.snapshot();
    let now_ms = raindrops::monotonic_ms();
    let rows: Vec<WorkerRow> = snapshot
        .workers
        .into_iter()
        .map(|row| WorkerRow {
            index: row.index,
            pid: row.pid,
            values: row.values,
            // PSS: pages shared with the master and the other workers are split between
            // them, so the sum row is the workers' true total (RSS would count them in full
            // for every worker).
            memory: row.pid.and_then(|pid| MemoryMetric::Pss.read(pid).ok()),
            heartbeat_age_ms: row.heartbeat_ms.map(|beat| now_ms.saturating_sub(beat)),
        })
        .collect();
    let total_memory = rows.iter().filter_map(|row| row.memory).reduce(|a, b| a + b);
    Ok(Workers {
        fields: snapshot.fields.iter().map(|f| f.name.to_string()).collect(),
        total: snapshot.total,
        total_memory,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::time::Duration;

    use super::*;

    fn args(unix: bool, addrs: &[&str]) -> TopArgs {
        TopArgs {
            delay: Duration::from_secs(1),
            segment: None,
            master: None,
            recycle: None,
            unix,
            addrs: addrs.iter().map(|a| (*a).into()).collect(),
        }
    }

    #[test]
    fn every_listener_of_the_host_tcp_and_unix() {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(tcp.local_addr().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("top.sock");
        let _unix = UnixListener::bind(&path).unwrap();
        let _clients = [UnixStream::connect(&path).unwrap(), UnixStream::connect(&path).unwrap()];

        let sample = Sampler::new(&args(true, &[])).unwrap().sample();
        assert_eq!((sample.workers, sample.master), (None, None));
        let listeners = sample.listeners.unwrap();
        let find = |addr: &ListenerAddr| {
            listeners.iter().find(|l| l.addr == *addr).map(|l| (l.stats, l.oldest_ms.is_some()))
        };
        let tcp_addr = ListenerAddr::from(tcp.local_addr().unwrap());
        // The queued TCP connection has an age; Unix listeners never do.
        assert_eq!(find(&tcp_addr), Some((ListenStats { active: 0, queued: 1 }, true)));
        let unix_addr = ListenerAddr::Unix(path.clone());
        assert_eq!(find(&unix_addr), Some((ListenStats { active: 0, queued: 2 }, false)));

        let tcp_only = Sampler::new(&args(false, &[])).unwrap().sample().listeners.unwrap();
        assert!(tcp_only.iter().all(|l| l.addr.tcp().is_some()));

        let given = [tcp_addr.to_string(), path.display().to_string()];
        let mut sampler = Sampler::new(&args(false, &[&given[0], &given[1], &given[0]])).unwrap();
        let sampled: Vec<(ListenerAddr, ListenStats, bool)> = sampler
            .sample()
            .listeners
            .unwrap()
            .into_iter()
            .map(|l| (l.addr, l.stats, l.oldest_ms.is_some()))
            .collect();
        assert_eq!(
            sampled,
            [
                (tcp_addr, ListenStats { active: 0, queued: 1 }, true),
                (unix_addr, ListenStats { active: 0, queued: 2 }, false),
            ],
            "in the given order, duplicates once"
        );
    }

    #[test]
    fn bad_addresses_are_usage_errors() {
        let err = Sampler::new(&args(false, &["127.0.0.1"])).unwrap_err();
        assert!(err.0.contains("\"127.0.0.1\""), "{err}");
    }
}
