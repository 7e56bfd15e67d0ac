//! What `/proc` says about a master and its workers: parent, start time, children, age. Shared
//! by `raindrops recycle` and `raindrops top --master`.

use std::io;
use std::time::Duration;

/// The fields of `/proc/PID/stat` that identify a process: a pid is reused, a (pid, start
/// time) pair is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    /// The parent's pid.
    pub(crate) ppid: u32,
    /// When the process started, in clock ticks since boot.
    pub(crate) start: u64,
}

/// Reads `/proc/PID/stat`; `Ok(None)` when there is no such process.
pub(crate) fn stat(pid: u32) -> io::Result<Option<Stat>> {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => parse_stat(&text)
            .map(Some)
            .ok_or_else(|| io::Error::other(format!("/proc/{pid}/stat: cannot parse {text:?}"))),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        // A process reaped while being read.
        Err(err) if err.raw_os_error() == Some(nix::libc::ESRCH) => Ok(None),
        Err(err) => Err(err),
    }
}

/// `pid (comm) state ppid ... starttime ...`: the name may hold spaces and parentheses, so
/// the fields are counted from its last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // Fields 3 (state) and 4 (ppid); starttime is field 22.
    let ppid = fields.nth(1)?.parse().ok()?;
    let start = fields.nth(17)?.parse().ok()?;
    Some(Stat { ppid, start })
}

/// The children of `master` with their start times, from `/proc/MASTER/task/*/children`, or
/// by scanning `/proc` when the kernel has no such file.
pub(crate) fn children(master: u32) -> io::Result<Vec<(u32, u64)>> {
    let pids = match task_children(master) {
        Ok(pids) => pids,
        Err(err) if err.kind() == io::ErrorKind::NotFound => scan_children(master)?,
        Err(err) => return Err(err),
    };
    let mut children = Vec::with_capacity(pids.len());
    for pid in pids {
        // Gone or reparented since the list was read: not a worker any more.
        if let Some(stat) = stat(pid)?.filter(|s| s.ppid == master) {
            children.push((pid, stat.start));
        }
    }
    children.sort_unstable();
    children.dedup();
    Ok(children)
}

/// The pids listed in every thread's `children` file (`CONFIG_PROC_CHILDREN`).
fn task_children(master: u32) -> io::Result<Vec<u32>> {
    let mut pids = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{master}/task"))? {
        let path = task?.path().join("children");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if path.parent().is_some_and(|p| p.exists()) => return Err(err),
            // A thread that exited meanwhile.
            Err(_) => continue,
        };
        pids.extend(text.split_ascii_whitespace().filter_map(|pid| pid.parse::<u32>().ok()));
    }
    Ok(pids)
}

/// Every process whose parent is `master`, from `/proc/*/stat`.
fn scan_children(master: u32) -> io::Result<Vec<u32>> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if stat(pid).ok().flatten().is_some_and(|s| s.ppid == master) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// Clock ticks per second of the start times (`USER_HZ`).
fn ticks_per_second() -> u64 {
    use nix::unistd::{SysconfVar, sysconf};
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(hz)) if hz > 0 => hz.unsigned_abs(),
        _ => 100,
    }
}

/// The time since boot, from `/proc/uptime`.
pub(crate) fn uptime() -> io::Result<Duration> {
    let text = std::fs::read_to_string("/proc/uptime")?;
    text.split_ascii_whitespace()
        .next()
        .and_then(|secs| secs.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .ok_or_else(|| io::Error::other(format!("/proc/uptime: cannot parse {text:?}")))
}

/// How long ago a process that started at `start` ticks after boot started, at `uptime`.
pub(crate) fn age(start: u64, uptime: Duration) -> Duration {
    let hz = ticks_per_second();
    let started = Duration::from_secs(start / hz) + Duration::from_millis(start % hz * 1000 / hz);
    uptime.saturating_sub(started)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let text = "42 (a) b (c)) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 1234 5 6";
        assert_eq!(parse_stat(text), Some(Stat { ppid: 7, start: 1234 }));
        assert_eq!(parse_stat("42 (x) S"), None);
        let me = stat(std::process::id()).unwrap().unwrap();
        assert_eq!(me.ppid, nix::unistd::getppid().as_raw().unsigned_abs());
        assert_eq!(stat(0x7fff_fff0).unwrap(), None);
    }

    #[test]
    fn a_spawned_process_is_a_child_of_its_parent() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let listed = children(std::process::id()).unwrap();
        let found = listed.iter().any(|(pid, _)| *pid == child.id());
        let scanned = scan_children(std::process::id()).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found, "{listed:?}");
        assert!(scanned.contains(&child.id()), "{scanned:?}");
        assert!(
            age(stat(std::process::id()).unwrap().unwrap().start, uptime().unwrap())
                < Duration::from_secs(86_400)
        );
    }
}
