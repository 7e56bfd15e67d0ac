//! `top --master PID`: the master's workers as `/proc` shows them (its children, through
//! [`crate::procfs`], the one reader `raindrops recycle` uses too), each one's USS, PSS and RSS
//! from one read of `smaps_rollup` (`raindrops::memory`) and its age; with `--recycle ADDR`,
//! the limit and state a running `raindrops recycle` gives them ([`sidecar`](super::sidecar)).

use std::net::SocketAddr;
use std::time::Duration;

use raindrops::memory::SmapsRollup;

use super::sidecar::{self, Known};
use crate::procfs;

/// One worker of the master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct MasterWorker {
    /// Its pid.
    pub(super) pid: u32,
    /// Its RSS, PSS and USS, if `smaps_rollup` could be read (another user's is not).
    pub(super) sizes: Option<SmapsRollup>,
    /// Time since it started.
    pub(super) age: Duration,
    /// Its drawn limit and state, from `--recycle`.
    pub(super) known: Known,
}

/// Where the limit and state came from, or why there are none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Recycle {
    /// No `--recycle ADDR`: they are known only to a running `raindrops recycle`.
    NotGiven,
    /// Read from this `raindrops recycle --metrics-listen` address.
    Read(SocketAddr),
    /// The scrape failed: why.
    Failed(String),
}

/// The master's workers at one sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct MasterWorkers {
    /// The master's pid.
    pub(super) master: u32,
    /// Its workers, by pid.
    pub(super) rows: Vec<MasterWorker>,
    /// Where the limits and states came from.
    pub(super) recycle: Recycle,
}

/// A sortable column of the master's workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WorkerColumn {
    /// The pid, lowest first.
    Pid,
    /// Unique set size, largest first (the default: what each worker alone costs).
    Uss,
    /// Proportional set size, largest first.
    Pss,
    /// Resident set size, largest first.
    Rss,
    /// Age, oldest first.
    Age,
}

impl WorkerColumn {
    /// The columns in the order the `m` key goes through them.
    pub(super) const ALL: [WorkerColumn; 5] = [
        WorkerColumn::Uss,
        WorkerColumn::Pss,
        WorkerColumn::Rss,
        WorkerColumn::Age,
        WorkerColumn::Pid,
    ];

    /// The column's header.
    pub(super) fn name(self) -> &'static str {
        match self {
            WorkerColumn::Pid => "pid",
            WorkerColumn::Uss => "uss",
            WorkerColumn::Pss => "pss",
            WorkerColumn::Rss => "rss",
            WorkerColumn::Age => "age",
        }
    }

    /// The next column for the `m` key.
    pub(super) fn next(self) -> WorkerColumn {
        let at = WorkerColumn::ALL.iter().position(|&c| c == self).unwrap_or(0);
        WorkerColumn::ALL[(at + 1) % WorkerColumn::ALL.len()]
    }
}

impl MasterWorkers {
    /// The workers sorted by `column` (numbers largest first, unknown last; ties by pid).
    pub(super) fn sorted(&self, column: WorkerColumn) -> Vec<&MasterWorker> {
        let mut rows: Vec<&MasterWorker> = self.rows.iter().collect();
        let size = |w: &MasterWorker, f: fn(&SmapsRollup) -> u64| w.sizes.as_ref().map(f);
        rows.sort_by(|a, b| {
            let order = match column {
                WorkerColumn::Pid => b.pid.cmp(&a.pid),
                WorkerColumn::Uss => size(a, SmapsRollup::uss).cmp(&size(b, SmapsRollup::uss)),
                WorkerColumn::Pss => size(a, |s| s.pss).cmp(&size(b, |s| s.pss)),
                WorkerColumn::Rss => size(a, |s| s.rss).cmp(&size(b, |s| s.rss)),
                WorkerColumn::Age => a.age.cmp(&b.age),
            };
            order.reverse().then(a.pid.cmp(&b.pid))
        });
        rows
    }

    /// The sum of each known size: USS, PSS and RSS (PSS summed is the workers' true total).
    pub(super) fn totals(&self) -> Option<[u64; 3]> {
        let sizes = self.rows.iter().filter_map(|w| w.sizes.as_ref());
        sizes.map(|s| [s.uss(), s.pss, s.rss]).reduce(|a, b| [0, 1, 2].map(|i| a[i] + b[i]))
    }
}

/// Checks that `master` exists before the first sample: a message naming it if not.
pub(super) fn check(master: u32) -> anyhow::Result<()> {
    match procfs::stat(master) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => anyhow::bail!("--master {master}: no such process (no /proc/{master})"),
        Err(err) => anyhow::bail!("--master {master}: cannot read /proc/{master}/stat: {err}"),
    }
}

/// Reads the workers of `master` once, and what `recycle` says of them if given.
pub(super) fn read(master: u32, recycle: Option<SocketAddr>) -> Result<MasterWorkers, String> {
    let what = |err: std::io::Error| format!("master {master}: {err}");
    if procfs::stat(master).map_err(what)?.is_none() {
        return Err(format!("master {master} exited (no /proc/{master})"));
    }
    let uptime = procfs::uptime().map_err(what)?;
    let (mut known, recycle) = match recycle.map(|addr| (addr, sidecar::read(addr))) {
        None => (Default::default(), Recycle::NotGiven),
        Some((addr, Ok(known))) => (known, Recycle::Read(addr)),
        Some((_, Err(err))) => (Default::default(), Recycle::Failed(err)),
    };
    let rows = procfs::children(master)
        .map_err(what)?
        .into_iter()
        .map(|(pid, start)| MasterWorker {
            pid,
            sizes: SmapsRollup::read(pid).ok(),
            age: procfs::age(start, uptime),
            known: known.remove(&pid).unwrap_or_default(),
        })
        .collect();
    Ok(MasterWorkers { master, rows, recycle })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(pid: u32, uss: u64, age: u64) -> MasterWorker {
        let sizes =
            SmapsRollup { rss: 3 * uss, pss: 2 * uss, private_dirty: uss, ..Default::default() };
        MasterWorker {
            pid,
            sizes: Some(sizes),
            age: Duration::from_secs(age),
            known: Known::default(),
        }
    }

    #[test]
    fn sorted_largest_first_unknown_last() {
        let mut unknown = worker(5, 0, 1);
        unknown.sizes = None;
        let workers = MasterWorkers {
            master: 1,
            rows: vec![worker(9, 10, 3), unknown, worker(7, 30, 2), worker(8, 10, 5)],
            recycle: Recycle::NotGiven,
        };
        let pids = |c| workers.sorted(c).iter().map(|w| w.pid).collect::<Vec<_>>();
        assert_eq!(pids(WorkerColumn::Uss), [7, 8, 9, 5]);
        assert_eq!(pids(WorkerColumn::Rss), [7, 8, 9, 5]);
        assert_eq!(pids(WorkerColumn::Age), [8, 9, 7, 5]);
        assert_eq!(pids(WorkerColumn::Pid), [5, 7, 8, 9]);
        assert_eq!(workers.totals(), Some([50, 100, 150]));
        assert_eq!(WorkerColumn::Pid.next(), WorkerColumn::Uss);
    }

    #[test]
    fn this_process_children_and_a_missing_master() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let read = read(std::process::id(), None);
        child.kill().unwrap();
        child.wait().unwrap();
        let workers = read.unwrap();
        let row = workers.rows.iter().find(|w| w.pid == child.id()).unwrap();
        assert!(row.sizes.is_some_and(|s| s.uss() > 0 && s.uss() <= s.pss && s.pss <= s.rss));
        assert_eq!(workers.recycle, Recycle::NotGiven);
        let err = check(0x7fff_fff0).unwrap_err().to_string();
        assert!(err.contains("--master 2147483632"), "{err}");
        assert!(super::read(0x7fff_fff0, None).unwrap_err().contains("2147483632"));
    }
}
