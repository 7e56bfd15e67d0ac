//! How values are written: the same text in the live view and in the plain snapshot.

use raindrops::ListenStats;

use super::master::{MasterWorker, MasterWorkers, WorkerColumn};
use super::sampling::{WorkerRow, Workers};

/// What an unknown value shows.
pub(super) const UNKNOWN: &str = "-";

/// Why the master's workers have no limit and state: said under the table.
pub(super) const NO_RECYCLE: &str =
    "limit, state: known only to raindrops recycle: give --recycle ADDR (its --metrics-listen)";

/// Bytes in binary units with one decimal: `512B`, `1.5K`, `12.3M`, `2.0G`.
pub(super) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
}

/// A short duration: `350ms`, `1.2s` (tenths, truncated), `3m05s`.
pub(super) fn millis(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}.{}s", ms / 1_000, ms % 1_000 / 100),
        _ => format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1_000),
    }
}

/// How long a listener's oldest queued connection has waited, `-` when none does (or for a
/// Unix listener, which has no ages).
pub(super) fn oldest(ms: Option<u32>) -> String {
    or_unknown(ms, |ms| millis(ms.into()))
}

/// A listener's cells both views share: address, active, queued.
pub(super) fn listener_cells(label: &str, stats: ListenStats) -> [String; 3] {
    [label.to_owned(), stats.active.to_string(), stats.queued.to_string()]
}

/// The workers table's header: worker, pid, the segment's fields, memory, heartbeat.
pub(super) fn worker_header(fields: &[String]) -> Vec<String> {
    let mut header = vec!["worker".to_owned(), "pid".to_owned()];
    header.extend(fields.iter().cloned());
    header.extend(["memory".to_owned(), "heartbeat".to_owned()]);
    header
}

/// One worker row's cells, in [`worker_header`] order.
pub(super) fn worker_cells(row: &WorkerRow) -> Vec<String> {
    let mut cells = vec![row.index.to_string(), or_unknown(row.pid, |pid| pid.to_string())];
    cells.extend(row.values.iter().map(u64::to_string));
    cells.push(or_unknown(row.memory, bytes));
    cells.push(or_unknown(row.heartbeat_age_ms, millis));
    cells
}

/// The summed row's cells: field totals (with retired counters) and the rows' memory.
pub(super) fn total_cells(workers: &Workers) -> Vec<String> {
    let mut cells = vec!["sum".to_owned(), String::new()];
    cells.extend(workers.total.iter().map(u64::to_string));
    cells.push(or_unknown(workers.total_memory, bytes));
    cells.push(String::new());
    cells
}

/// An age: `42s`, `3m05s`, `5h03m`, `2d05h`.
pub(super) fn age(age: std::time::Duration) -> String {
    let s = age.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m{:02}s", s / 60, s % 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3_600),
    }
}

/// The master's workers table's header: pid, uss, pss, rss, age, limit, state.
pub(super) fn master_header() -> Vec<String> {
    let sizes = [WorkerColumn::Pid, WorkerColumn::Uss, WorkerColumn::Pss, WorkerColumn::Rss];
    let mut header: Vec<String> = sizes.iter().map(|c| c.name().to_owned()).collect();
    header.extend([WorkerColumn::Age.name(), "limit", "state"].map(str::to_owned));
    header
}

/// One of the master's workers' cells, in [`master_header`] order; the limit names its
/// metric (`52.1M uss`).
pub(super) fn master_cells(worker: &MasterWorker) -> Vec<String> {
    let sizes = worker.sizes.map(|s| [s.uss(), s.pss, s.rss]);
    let mut cells = vec![worker.pid.to_string()];
    cells.extend((0..3).map(|i| or_unknown(sizes, |s| bytes(s[i]))));
    cells.push(age(worker.age));
    cells.push(or_unknown(worker.known.limit.as_ref(), |(m, l)| format!("{} {m}", bytes(*l))));
    cells.push(or_unknown(worker.known.state.clone(), |s| s));
    cells
}

/// The master's workers' sum row: their USS, PSS (their true total) and RSS.
pub(super) fn master_total(workers: &MasterWorkers) -> Vec<String> {
    let totals = workers.totals();
    let mut cells = vec!["sum".to_owned()];
    cells.extend((0..3).map(|i| or_unknown(totals, |t| bytes(t[i]))));
    cells.extend([String::new(), String::new(), String::new()]);
    cells
}

fn or_unknown<T>(value: Option<T>, show: impl FnOnce(T) -> String) -> String {
    value.map_or_else(|| UNKNOWN.to_owned(), show)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_units() {
        assert_eq!(bytes(0), "0B");
        assert_eq!(bytes(1023), "1023B");
        assert_eq!(bytes(1024), "1.0K");
        assert_eq!(bytes(1536), "1.5K");
        assert_eq!(bytes(12 * 1024 * 1024 + 300 * 1024), "12.3M");
        assert_eq!(bytes(3 << 30), "3.0G");
        assert_eq!(bytes(u64::MAX), "16384.0P");
    }

    #[test]
    fn durations() {
        assert_eq!(millis(0), "0ms");
        assert_eq!(millis(999), "999ms");
        assert_eq!(millis(1_000), "1.0s");
        assert_eq!(millis(1_299), "1.2s");
        assert_eq!(millis(59_999), "59.9s");
        assert_eq!(millis(60_000), "1m00s");
        assert_eq!(millis(185_000), "3m05s");
    }

    #[test]
    fn ages() {
        let s = std::time::Duration::from_secs;
        assert_eq!(age(s(0)), "0s");
        assert_eq!(age(s(59)), "59s");
        assert_eq!(age(s(185)), "3m05s");
        assert_eq!(age(s(5 * 3_600 + 3 * 60 + 9)), "5h03m");
        assert_eq!(age(s(2 * 86_400 + 5 * 3_600)), "2d05h");
    }

    #[test]
    fn worker_rows() {
        let row = WorkerRow {
            index: 3,
            pid: None,
            values: vec![1, 0, 7],
            memory: Some(2048),
            heartbeat_age_ms: None,
        };
        assert_eq!(worker_cells(&row), ["3", "-", "1", "0", "7", "2.0K", "-"]);
        let workers = Workers {
            fields: vec!["a".into(), "b".into(), "c".into()],
            rows: vec![row],
            total: vec![1, 0, 9],
            total_memory: None,
        };
        assert_eq!(total_cells(&workers), ["sum", "", "1", "0", "9", "-", ""]);
        assert_eq!(
            worker_header(&workers.fields),
            ["worker", "pid", "a", "b", "c", "memory", "heartbeat"]
        );
    }
}
