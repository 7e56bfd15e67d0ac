//! The plain-text snapshot printed when stdout is not a terminal, for scripts: one sample, the
//! listeners in the kernel's (or the given) order, then the worker rows and their sum, then
//! the master's workers, largest USS first, and their sum.

use std::fmt::Write as _;

use super::format;
use super::master::{Recycle, WorkerColumn};
use super::model::Column;
use super::sampling::Sample;

/// The snapshot's text, and the errors met (for stderr).
pub(super) fn snapshot(sample: &Sample) -> (String, Vec<&str>) {
    let mut out = String::new();
    let mut errors = Vec::new();
    match &sample.listeners {
        Ok(listeners) => {
            let header = Column::ALL[..3].iter().map(|c| c.name().to_owned()).collect();
            let rows = listeners
                .iter()
                .map(|l| format::listener_cells(&l.addr.name().to_string(), l.stats).to_vec())
                .collect();
            out.push_str(&table(header, rows));
        }
        Err(err) => errors.push(err.as_str()),
    }
    match &sample.workers {
        Some(Ok(workers)) => {
            let mut rows: Vec<Vec<String>> =
                workers.rows.iter().map(format::worker_cells).collect();
            rows.push(format::total_cells(workers));
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&table(format::worker_header(&workers.fields), rows));
        }
        Some(Err(err)) => errors.push(err.as_str()),
        None => {}
    }
    match &sample.master {
        Some(Ok(master)) => {
            let sorted = master.sorted(WorkerColumn::Uss);
            let mut rows: Vec<Vec<String>> = sorted.into_iter().map(format::master_cells).collect();
            rows.push(format::master_total(master));
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&table(format::master_header(), rows));
            match &master.recycle {
                Recycle::NotGiven => {
                    out.push_str(format::NO_RECYCLE);
                    out.push('\n');
                }
                Recycle::Read(_) => {}
                Recycle::Failed(err) => errors.push(err.as_str()),
            }
        }
        Some(Err(err)) => errors.push(err.as_str()),
        None => {}
    }
    (out, errors)
}

/// Aligned columns two spaces apart: the first left-aligned, the others right-aligned.
fn table(header: Vec<String>, rows: Vec<Vec<String>>) -> String {
    let lines: Vec<Vec<String>> = std::iter::once(header).chain(rows).collect();
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            lines.iter().filter_map(|l| l.get(i)).map(|c| c.chars().count()).max().unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &lines {
        let mut text = String::new();
        for (i, (cell, width)) in line.iter().zip(&widths).enumerate() {
            let _ = match i {
                0 => write!(text, "{cell:<width$}"),
                _ => write!(text, "  {cell:>width$}"),
            };
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::top::fixtures;

    #[test]
    fn listeners_then_workers() {
        let mut sample = fixtures::sample(&[("127.0.0.1:8080", 12, 3), ("/run/app.sock", 0, 0)]);
        sample.workers = Some(Ok(fixtures::workers()));
        let (text, errors) = snapshot(&sample);
        assert!(errors.is_empty());
        assert_eq!(
            text,
            "address         active  queued\n\
             127.0.0.1:8080      12       3\n\
             /run/app.sock        0       0\n\
             \n\
             worker   pid  calling  writing  requests  memory  heartbeat\n\
             0       4242        1        0         2   12.0M      350ms\n\
             1          -        0        1        10       -          -\n\
             sum                 1        1        17   12.0M\n"
        );
    }

    #[test]
    fn errors_are_returned() {
        let sample = Sample {
            listeners: Err("cannot query listener stats: no netlink".into()),
            workers: Some(Err("/x: no such segment file".into())),
            master: Some(Err("master 9 exited (no /proc/9)".into())),
        };
        let (text, errors) = snapshot(&sample);
        assert_eq!(text, "");
        assert_eq!(
            errors,
            [
                "cannot query listener stats: no netlink",
                "/x: no such segment file",
                "master 9 exited (no /proc/9)"
            ]
        );
    }
}
