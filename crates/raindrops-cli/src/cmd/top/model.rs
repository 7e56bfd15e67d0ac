//! What the screen shows, kept between samples: each listener's peak and recent history, the
//! latest worker rows and master's workers, the sort orders and the filter. No I/O: samples
//! come in, rows go out.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use raindrops::{ListenStats, ListenerAddr};

use super::master::{MasterWorkers, WorkerColumn};
use super::sampling::{Sample, Workers};

/// How many queued samples each listener keeps (10 minutes at the default 1 s delay).
pub(super) const HISTORY: usize = 600;

/// A sortable column of the listeners table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Column {
    /// The listener address.
    Address,
    /// Accepted connections.
    Active,
    /// Connections waiting for `accept()`.
    Queued,
    /// The most queued seen since `top` started.
    Peak,
    /// How long the oldest queued connection has waited (TCP; none for Unix).
    Wait,
}

impl Column {
    /// Every sortable column, in screen order (the keys `1` to `5`).
    pub(super) const ALL: [Column; 5] =
        [Column::Address, Column::Active, Column::Queued, Column::Peak, Column::Wait];

    /// The column's header.
    pub(super) fn name(self) -> &'static str {
        match self {
            Column::Address => "address",
            Column::Active => "active",
            Column::Queued => "queued",
            Column::Peak => "peak",
            Column::Wait => "oldest wait",
        }
    }
}

/// One listener as shown: its latest numbers, its peak and its recent queued counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    /// The listener.
    pub(super) addr: ListenerAddr,
    /// The address as displayed (and filtered on).
    pub(super) label: String,
    /// The latest numbers.
    pub(super) stats: ListenStats,
    /// The most queued seen since `top` started.
    pub(super) peak: u32,
    /// The latest age of the oldest queued connection in ms (`None`: none waits, or Unix).
    pub(super) oldest_ms: Option<u32>,
    /// Queued counts, oldest first, at most [`HISTORY`].
    pub(super) history: VecDeque<u32>,
}

/// The state of `raindrops top`.
#[derive(Debug)]
pub(super) struct Top {
    /// Time between samples.
    pub(super) delay: Duration,
    /// The `--segment` file, if any.
    pub(super) segment: Option<PathBuf>,
    /// Why the last listener query failed, if it did (the entries are then the last known).
    pub(super) listen_error: Option<String>,
    /// The latest worker rows, when `--segment` was given.
    pub(super) workers: Option<Result<Workers, String>>,
    /// The master's latest workers, when `--master` was given.
    pub(super) master: Option<Result<MasterWorkers, String>>,
    /// The column the master's workers are sorted by.
    pub(super) worker_sort: WorkerColumn,
    /// The column the listeners are sorted by.
    pub(super) sort: Column,
    /// Whether that order is reversed (largest or last address first).
    pub(super) descending: bool,
    /// Only listeners whose address contains this (ignoring case) are shown.
    pub(super) filter: String,
    /// Whether keys go to the filter.
    pub(super) editing: bool,
    /// The listeners of the last successful query, in the kernel's order.
    entries: Vec<Entry>,
}

impl Top {
    /// No samples yet; sorted by queued, most first.
    pub(super) fn new(delay: Duration, segment: Option<PathBuf>) -> Top {
        Top {
            delay,
            segment,
            listen_error: None,
            workers: None,
            master: None,
            worker_sort: WorkerColumn::Uss,
            sort: Column::Queued,
            descending: true,
            filter: String::new(),
            editing: false,
            entries: Vec::new(),
        }
    }

    /// Takes in a sample. Listeners no longer reported are forgotten, so memory stays flat
    /// whatever comes and goes on the host.
    pub(super) fn update(&mut self, sample: Sample) {
        self.workers = sample.workers;
        self.master = sample.master;
        let listeners = match sample.listeners {
            Ok(listeners) => listeners,
            Err(err) => {
                self.listen_error = Some(err);
                return;
            }
        };
        self.listen_error = None;
        let mut old: HashMap<ListenerAddr, Entry> =
            self.entries.drain(..).map(|e| (e.addr.clone(), e)).collect();
        for listener in listeners {
            let mut entry = old.remove(&listener.addr).unwrap_or_else(|| Entry {
                // Escaped: a socket name could hold a newline or an escape code.
                label: listener.addr.name().to_string(),
                addr: listener.addr,
                stats: ListenStats::default(),
                peak: 0,
                oldest_ms: None,
                history: VecDeque::new(),
            });
            let queued = listener.stats.queued;
            entry.stats = listener.stats;
            entry.oldest_ms = listener.oldest_ms;
            entry.peak = entry.peak.max(queued);
            if entry.history.len() == HISTORY {
                entry.history.pop_front();
            }
            entry.history.push_back(queued);
            self.entries.push(entry);
        }
    }

    /// How many listeners the last successful query reported.
    pub(super) fn total(&self) -> usize {
        self.entries.len()
    }

    /// The listeners that pass the filter, in the chosen order (ties by address).
    pub(super) fn visible(&self) -> Vec<&Entry> {
        let filter = self.filter.to_lowercase();
        let mut shown: Vec<&Entry> =
            self.entries.iter().filter(|e| e.label.to_lowercase().contains(&filter)).collect();
        shown.sort_by(|a, b| {
            let order = match self.sort {
                Column::Address => a.addr.cmp(&b.addr),
                Column::Active => a.stats.active.cmp(&b.stats.active),
                Column::Queued => a.stats.queued.cmp(&b.stats.queued),
                Column::Peak => a.peak.cmp(&b.peak),
                Column::Wait => a.oldest_ms.cmp(&b.oldest_ms),
            };
            let order = if self.descending { order.reverse() } else { order };
            order.then_with(|| a.addr.cmp(&b.addr))
        });
        shown
    }

    /// Sorts by `column`: addresses first to last, numbers largest first; choosing the
    /// current column again reverses the order.
    pub(super) fn sort_by(&mut self, column: Column) {
        if self.sort == column {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            self.descending = column != Column::Address;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::top::fixtures::sample;

    fn labels(top: &Top) -> Vec<&str> {
        top.visible().iter().map(|e| e.label.as_str()).collect()
    }

    #[test]
    fn peaks_and_history_follow_the_samples() {
        let mut top = Top::new(Duration::from_secs(1), None);
        top.update(sample(&[("127.0.0.1:80", 1, 4), ("127.0.0.1:81", 0, 0)]));
        top.update(sample(&[("127.0.0.1:80", 2, 1)]));
        top.update(Sample { listeners: Err("boom".into()), workers: None, master: None });
        assert_eq!(top.listen_error.as_deref(), Some("boom"));
        assert_eq!(top.total(), 1, "81 vanished, the error keeps the last known");
        top.update(sample(&[("127.0.0.1:80", 0, 2)]));
        assert_eq!(top.listen_error, None);
        let entry = top.visible()[0];
        assert_eq!(entry.stats, ListenStats { active: 0, queued: 2 });
        assert_eq!(entry.peak, 4);
        assert_eq!(entry.history, [4, 1, 2]);
    }

    #[test]
    fn history_is_bounded() {
        let mut top = Top::new(Duration::from_secs(1), None);
        for queued in 0..HISTORY as u32 + 5 {
            top.update(sample(&[("127.0.0.1:80", 0, queued)]));
        }
        let history = &top.visible()[0].history;
        assert_eq!(history.len(), HISTORY);
        assert_eq!(history.front(), Some(&5));
        assert_eq!(history.back(), Some(&(HISTORY as u32 + 4)));
    }

    #[test]
    fn sorting_and_filtering() {
        let mut top = Top::new(Duration::from_secs(1), None);
        top.update(sample(&[
            ("127.0.0.1:9000", 5, 1),
            ("127.0.0.1:80", 1, 3),
            ("[::1]:80", 0, 3),
            ("/run/app.sock", 2, 0),
        ]));
        assert_eq!(labels(&top), ["127.0.0.1:80", "[::1]:80", "127.0.0.1:9000", "/run/app.sock"]);
        top.sort_by(Column::Address);
        assert_eq!(labels(&top), ["127.0.0.1:80", "127.0.0.1:9000", "[::1]:80", "/run/app.sock"]);
        top.sort_by(Column::Address);
        assert_eq!(labels(&top), ["/run/app.sock", "[::1]:80", "127.0.0.1:9000", "127.0.0.1:80"]);
        top.sort_by(Column::Active);
        assert_eq!(labels(&top), ["127.0.0.1:9000", "/run/app.sock", "127.0.0.1:80", "[::1]:80"]);
        top.sort_by(Column::Active);
        assert_eq!(labels(&top), ["[::1]:80", "127.0.0.1:80", "/run/app.sock", "127.0.0.1:9000"]);
        // Oldest wait (300 ms per queued in the fixture): longest first, none (Unix) last.
        top.sort_by(Column::Wait);
        assert_eq!(labels(&top), ["127.0.0.1:80", "[::1]:80", "127.0.0.1:9000", "/run/app.sock"]);
        top.sort_by(Column::Wait);
        assert_eq!(labels(&top), ["/run/app.sock", "127.0.0.1:9000", "127.0.0.1:80", "[::1]:80"]);
        top.sort_by(Column::Active);
        top.sort_by(Column::Active);
        top.filter = "127.0".into();
        assert_eq!(labels(&top), ["127.0.0.1:80", "127.0.0.1:9000"]);
        top.filter = "APP".into();
        assert_eq!(labels(&top), ["/run/app.sock"]);
        top.filter = "nothing".into();
        assert!(labels(&top).is_empty());
        assert_eq!(top.total(), 4);
    }
}
