//! `raindrops recycle`: stalin for unicorn, puma and gunicorn, from outside the app.
//!
//! Every `--interval` the master's children are listed from `/proc` ([`procfs`](crate::procfs)) and measured
//! with `raindrops::memory` ([`fleet`]); a worker over its limit (drawn once per worker, as
//! stalin does), the largest one over the budget, or the next one due in a rolling restart is
//! sent the server's graceful signal ([`preset`]) through a pidfd ([`pidfd`]), escalated by the
//! killer crate's `Escalator`, at most `--max-restarting` at a time.

mod fleet;
mod gate;
mod metrics;
mod pidfd;
mod preset;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::sys::signal::kill;
use raindrops::memory::MemoryMetric;
use raindrops_killer::Policy;
use raindrops_killer::prefork::{MemoryBudget, RollingRestart};

use self::fleet::{Cause, Fleet, Measure};
use self::metrics::Metrics;
pub(crate) use self::preset::Preset;
use super::Run;
use crate::cli::RecycleArgs;
use crate::exit::{Code, UsageError};
use crate::procfs;

impl Run for RecycleArgs {
    fn run(&self) -> anyhow::Result<Code> {
        raindrops_prefork::log::init();
        if self.max_memory.is_none()
            && self.memory_budget.is_none()
            && self.max_lifetime.is_none()
            && self.rolling_restart.is_none()
        {
            return Err(UsageError(
                "nothing to recycle for: give --max-memory, --memory-budget, --max-lifetime or --rolling-restart".into(),
            )
            .into());
        }
        if let Some(flag) = self.connections.first_given().filter(|_| self.metrics_listen.is_none())
        {
            return Err(
                UsageError(format!("{flag} applies to --metrics-listen: give it too")).into()
            );
        }
        let master = match (self.master, &self.pidfile) {
            (Some(pid), _) => pid,
            (None, Some(file)) => read_pidfile(file)?,
            (None, None) => {
                return Err(UsageError("give --master PID or --pidfile FILE".into()).into());
            }
        };
        let Some(stat) = procfs::stat(master)? else {
            anyhow::bail!("master {master} not found (no /proc/{master})");
        };
        let raw = nix::unistd::Pid::from_raw(i32::try_from(master).context("--master")?);
        if let Err(err) = kill(raw, None) {
            anyhow::bail!(
                "master {master} is not ours to signal ({err}): run recycle as the master's user or as root"
            );
        }
        self.watch(master, stat.start)
    }
}

impl RecycleArgs {
    /// The loop: read, decide, signal, until the master exits.
    fn watch(&self, master: u32, master_start: u64) -> anyhow::Result<Code> {
        let metric = MemoryMetric::from(self.memory_metric);
        let mut policy = Policy::new();
        if let Some(range) = &self.max_memory {
            policy = policy.max_memory(metric, range.clone());
        }
        if let Some(lifetime) = self.max_lifetime {
            policy = policy.max_lifetime(lifetime.base, lifetime.jitter);
        }
        let escalation = preset::escalation(self.preset, self.graceful, self.abrupt);
        let mut fleet = Fleet::new(master, policy, self.measure(), escalation);
        let policy = self.connections.policy();
        let mut metrics =
            self.metrics_listen.map(|addr| Metrics::serve(addr, policy)).transpose()?;
        let budget = self.memory_budget.map(|bytes| MemoryBudget::new(metric, bytes));
        let mut rolling = self.rolling_restart.map(|l| RollingRestart::new(l.base, l.jitter));
        let most = usize::from(self.max_restarting);
        let mut recycling = 0;
        let mut failures = ReadFailures::default();
        tracing::info!(
            master,
            graceful = escalation.graceful.as_str(),
            dry_run = self.dry_run,
            "recycle: watching the workers of master {master}"
        );
        // The interval's work runs every `--interval`; escalation steps keep their own
        // schedule, a second apart: the loop sleeps until whichever comes first.
        let mut tick = Instant::now();
        loop {
            if Instant::now() >= tick {
                let (children, uptime) = match read(master, master_start) {
                    Ok(Some(read)) => {
                        failures.clear();
                        read
                    }
                    Ok(None) => {
                        tracing::info!(master, "recycle: master {master} exited; stopping");
                        eprintln!("raindrops: master {master} exited");
                        return Ok(Code::Success);
                    }
                    Err(err) => {
                        failures.failed(master, &err)?;
                        tick = (tick + self.interval).max(Instant::now());
                        continue;
                    }
                };
                fleet.update(&children, uptime);
                let now = Instant::now();
                let mut in_flight = fleet.in_flight(now);
                let mut due = fleet.over_limits();
                if let Some(budget) = &budget {
                    // The sizes the fleet just read: the metrics show what was decided on.
                    let infos = fleet.infos(in_flight >= most);
                    let over = budget.check_measured(&infos, |pid| fleet.memory(pid));
                    due.extend(over.into_iter().map(|r| (r.pid, Cause::Budget(r.reason))));
                }
                if let Some(rolling) = &mut rolling {
                    let turn = rolling.check(&fleet.infos(in_flight > 0));
                    due.extend(turn.into_iter().map(|r| (r.pid, Cause::Rolling(r.reason))));
                }
                fleet.mark_due(&due);
                for (pid, cause) in due {
                    if in_flight >= most {
                        fleet.hold(pid, &cause, in_flight);
                    } else if fleet.recycle(pid, &cause, in_flight, self.dry_run) {
                        in_flight += 1;
                        if let Some(metrics) = &mut metrics {
                            metrics.recycled(cause.label());
                        }
                    }
                }
                recycling = in_flight;
                tick += self.interval;
                tick = tick.max(Instant::now());
            }
            // Now, not the interval's earlier instant: a worker whose recycle just started
            // gets its graceful signal in this interval, right after its pidfd was opened.
            let sent = fleet.escalate(Instant::now());
            if let Some(metrics) = &mut metrics {
                metrics.signalled(&sent);
                metrics.publish(&fleet, metric, recycling);
            }
            let wake = fleet.next_step().map_or(tick, |step| step.min(tick));
            std::thread::sleep(wake.saturating_duration_since(Instant::now()));
        }
    }
}

/// The master's children (pid, start time) and the time since boot, as read from `/proc`.
type Read = (Vec<(u32, u64)>, Duration);

/// The master's children and the time since boot, from `/proc`; `Ok(None)` once the master
/// (`master` started at `master_start` ticks after boot) is gone.
fn read(master: u32, master_start: u64) -> std::io::Result<Option<Read>> {
    if procfs::stat(master)?.is_none_or(|s| s.start != master_start) {
        return Ok(None);
    }
    Ok(Some((procfs::children(master)?, procfs::uptime()?)))
}

/// How many reads of `/proc` in a row may fail (a transient error: the interval is skipped)
/// before `recycle` gives up.
const MAX_READ_FAILURES: u32 = 5;

/// Consecutive failed reads of `/proc`.
#[derive(Debug, Default)]
struct ReadFailures {
    count: u32,
}

impl ReadFailures {
    /// A read succeeded.
    fn clear(&mut self) {
        self.count = 0;
    }

    /// A read failed with `err`: a warning, or after [`MAX_READ_FAILURES`] in a row, the
    /// error that ends `recycle` (exit 1), naming it.
    fn failed(&mut self, master: u32, err: &std::io::Error) -> anyhow::Result<()> {
        self.count += 1;
        let count = self.count;
        if count >= MAX_READ_FAILURES {
            anyhow::bail!(
                "cannot read /proc for master {master}'s workers ({count} times in a row): {err}"
            );
        }
        tracing::warn!(
            master,
            %err,
            count,
            "recycle: cannot read /proc for master {master}'s workers: {err}; skipping this interval"
        );
        Ok(())
    }
}

impl RecycleArgs {
    /// What the fleet measures of each worker: the limit's metric for `--max-memory` (only
    /// near the limit, for USS and PSS) and `--memory-budget` (every worker), every size for
    /// `--metrics-listen`.
    fn measure(&self) -> Option<Measure> {
        let metric = MemoryMetric::from(self.memory_metric);
        let (all, budget) = (self.metrics_listen.is_some(), self.memory_budget.is_some());
        (self.max_memory.is_some() || budget || all).then_some(Measure { metric, all, budget })
    }
}

/// The master's pid from a pid file (`1234\n`).
fn read_pidfile(file: &Path) -> anyhow::Result<u32> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("--pidfile {}", file.display()))?;
    text.trim()
        .parse()
        .with_context(|| format!("--pidfile {}: {:?} is not a pid", file.display(), text.trim()))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn transient_read_errors_are_skipped_until_five_in_a_row() {
        let mut failures = ReadFailures::default();
        let err = std::io::Error::other("injected");
        for _ in 0..2 {
            for _ in 1..MAX_READ_FAILURES {
                failures.failed(42, &err).unwrap();
            }
            failures.clear();
        }
        for _ in 1..MAX_READ_FAILURES {
            failures.failed(42, &err).unwrap();
        }
        let gave_up = failures.failed(42, &err).unwrap_err().to_string();
        assert_eq!(
            gave_up,
            "cannot read /proc for master 42's workers (5 times in a row): injected"
        );
    }

    #[test]
    fn a_gone_master_reads_as_none() {
        let me = std::process::id();
        let start = procfs::stat(me).unwrap().unwrap().start;
        assert!(read(me, start).unwrap().is_some());
        assert!(read(me, start + 1).unwrap().is_none());
        assert!(read(0x7fff_fff0, 0).unwrap().is_none());
    }

    /// `raindrops recycle ARGS`, parsed.
    #[derive(clap::Parser)]
    struct Recycle {
        #[command(flatten)]
        args: RecycleArgs,
    }

    #[test]
    fn a_memory_budget_or_the_metrics_have_every_worker_measured_every_interval() {
        let measure = |args: &[&str]| {
            let args = ["recycle", "--master", "2"].iter().chain(args);
            Recycle::try_parse_from(args).unwrap().args.measure().map(|m| (m.all, m.budget))
        };
        assert_eq!(measure(&["--max-lifetime", "1h"]), None);
        assert_eq!(measure(&["--max-memory", "1G"]), Some((false, false)));
        assert_eq!(measure(&["--memory-budget", "1G"]), Some((false, true)));
        assert_eq!(measure(&["--max-memory", "1G", "--memory-budget", "1G"]), Some((false, true)));
        assert_eq!(
            measure(&["--max-memory", "1G", "--metrics-listen", "127.0.0.1:0"]),
            Some((true, false))
        );
    }
}
