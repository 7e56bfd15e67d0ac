//! Sparklines: an address's recent history squeezed into [`BUCKETS`] columns (the most of each
//! column's samples), drawn as SVG path data small enough for a thousand rows.

use std::collections::VecDeque;
use std::fmt::Write;
use std::time::{Duration, SystemTime};

pub(super) use crate::watcher::rollup::{BUCKETS, Columns};
/// The viewBox height; values are drawn between [`TOP`] and [`BASE`].
pub(super) const HEIGHT: u64 = 24;
const TOP: u64 = 2;
const BASE: u64 = HEIGHT - 2;

/// Folds the points of `history` (oldest first) within `window` before `now` into columns.
/// Walks only the points inside the window, newest first.
///
/// The caller passes a window no longer than the history the Watcher holds (see
/// [`span`]), so a young Watcher's few samples fill the width instead of a dot at its edge.
pub(super) fn columns(
    history: &VecDeque<(SystemTime, u64, u64)>,
    now: SystemTime,
    window: Duration,
) -> Columns {
    let mut out = [None; BUCKETS];
    let window_us = window.as_micros().max(1) as u64;
    for &(time, active, queued) in history.iter().rev() {
        let age = now.duration_since(time).unwrap_or_default().as_micros() as u64;
        if age >= window_us {
            break;
        }
        let column = BUCKETS - 1 - (age * BUCKETS as u64 / window_us) as usize;
        let slot: &mut Option<(u64, u64)> = &mut out[column];
        *slot = Some(slot.map_or((active, queued), |(a, q)| (a.max(active), q.max(queued))));
    }
    out
}

/// The time the sparklines cover: `window`, or less while the Watcher (sampling every
/// `delay`, its oldest point held taken at `started`) holds less history. History within half
/// a sample of the window is whole: a full hour of samples at 1 s spans 3,600 s give or take
/// the sampler's wake-up jitter, and must be drawn from the rollups, not point by point.
pub(super) fn span(
    window: Duration,
    started: SystemTime,
    now: SystemTime,
    delay: Duration,
) -> Duration {
    let held = now.duration_since(started).unwrap_or_default() + delay;
    if held + delay / 2 >= window { window } else { held }
}

/// The most of each number over the columns: `(active, queued)`.
pub(super) fn peaks(columns: &Columns) -> (u64, u64) {
    columns.iter().flatten().fold((0, 0), |(a, q), &(ca, cq)| (a.max(ca), q.max(cq)))
}

/// A step line of one number of `columns` (`pick`), scaled so `max` is the top: SVG path
/// data in a `0 0 BUCKETS HEIGHT` viewBox, empty when no column has a sample. Runs of equal
/// height are one segment, so a quiet listener's line is a few bytes (`M0 22H60`).
pub(super) fn line(columns: &Columns, max: u64, pick: fn((u64, u64)) -> u64) -> String {
    let y = |v: u64| BASE - v.min(max) * (BASE - TOP) / max.max(1);
    let mut out = String::with_capacity(16);
    let mut current = None;
    let mut last = 0;
    for (i, column) in columns.iter().enumerate() {
        let Some(&values) = column.as_ref() else { continue };
        let height = y(pick(values));
        match current {
            None => {
                out.push('M');
                push_small(&mut out, i as u64);
                out.push(' ');
                push_small(&mut out, height);
            }
            Some(previous) if previous != height => {
                out.push('H');
                push_small(&mut out, i as u64);
                out.push('V');
                push_small(&mut out, height);
            }
            Some(_) => {}
        }
        current = Some(height);
        last = i;
    }
    if current.is_some() {
        out.push('H');
        push_small(&mut out, last as u64 + 1);
    }
    out
}

/// Appends `n` (a column or a height: under 100) in decimal, without the formatting machinery
/// (a thousand rows' paths are tens of thousands of numbers per sample).
fn push_small(out: &mut String, n: u64) {
    if n >= 100 {
        let _ = write!(out, "{n}");
        return;
    }
    if n >= 10 {
        out.push(char::from(b'0' + (n / 10) as u8));
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// [`line`] closed down to the baseline, to fill as an area.
pub(super) fn area(line: &str) -> String {
    let start = line.get(1..).and_then(|rest| rest.split(' ').next()).unwrap_or("0");
    if line.is_empty() { String::new() } else { format!("{line}V{BASE}H{start}Z") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    #[test]
    fn a_minute_of_samples_fills_the_columns_of_a_minute() {
        let history: VecDeque<_> = (1..=60).map(|s| (at(s), s % 3, u64::from(s == 30))).collect();
        let columns = columns(&history, at(60), Duration::from_secs(60));
        assert!(columns.iter().all(Option::is_some));
        assert_eq!(peaks(&columns), (2, 1));
        // Older than the window: not drawn.
        let late = super::columns(&history, at(200), Duration::from_secs(60));
        assert!(late.iter().all(Option::is_none));
        assert_eq!(line(&late, 1, |(a, _)| a), "");
        // Two samples a second apart span the width of two seconds.
        let span = span(Duration::from_secs(600), at(59), at(60), Duration::from_secs(1));
        assert_eq!(span, Duration::from_secs(2));
        let two = super::columns(&history, at(60), span);
        assert_eq!(two.iter().filter(|c| c.is_some()).count(), 2);
        assert!(two[29].is_some() && two[59].is_some());
    }

    #[test]
    fn an_hour_of_samples_taken_a_little_late_is_a_whole_hour() {
        let hour = Duration::from_secs(3600);
        let second = Duration::from_secs(1);
        // 3,600 points, the oldest taken 5 ms late: 3,599.995 s + one delay.
        let oldest = at(1) + Duration::from_millis(5);
        assert_eq!(span(hour, oldest, at(3600), second), hour);
        // Half an hour held is half an hour.
        assert_eq!(span(hour, at(1801), at(3600), second), Duration::from_secs(1800));
    }

    #[test]
    fn flat_lines_are_short_and_steps_are_exact() {
        let quiet = [Some((0, 0)); BUCKETS];
        assert_eq!(line(&quiet, 0, |(_, q)| q), "M0 22H60");
        let mut steps = [None; BUCKETS];
        steps[58] = Some((0, 2));
        steps[59] = Some((0, 4));
        assert_eq!(line(&steps, 4, |(_, q)| q), "M58 12H59V2H60");
        assert_eq!(area("M58 12H59V2H60"), "M58 12H59V2H60V22H58Z");
        assert_eq!(area(""), "");
    }
}
