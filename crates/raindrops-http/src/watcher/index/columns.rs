//! The index's table, defined once: each [`Column`] gives its header, its title, how it sorts
//! and how its cell is drawn; the page, the scriptless sort links and the in-place updates all
//! follow this list. A new number (a queue's oldest wait, say) is a field of [`Row`], a key
//! of its JSON, and one entry here.
//!
//! Cells the script keeps current carry `data-v='KEY'` (text from the row's JSON `KEY`),
//! `data-d='KEY'` (a path's `d`) or `data-busy='KEY'` (marked while `KEY` is above 0).

use std::cmp::Ordering;
use std::fmt::Write;

use super::spark;

/// One listener's row.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) addr: raindrops::ListenerName,
    /// The address as text, escaped for HTML.
    pub(super) html: String,
    /// The address as text (lowercased filters match it).
    pub(super) text: String,
    /// The address percent-encoded for links.
    pub(super) url: String,
    pub(super) active: u64,
    pub(super) queued: u64,
    /// The most of each within the window.
    pub(super) peak_active: u64,
    pub(super) peak_queued: u64,
    /// How long the oldest queued connection has waited, in ms, at the sample: `None` when
    /// nothing waits or nothing is measured (Unix listeners).
    pub(super) oldest_ms: Option<u32>,
    /// Sparkline path data ([`spark::line`], [`spark::area`]).
    pub(super) spark_active: String,
    pub(super) spark_queued: String,
}

impl Row {
    /// The row's numbers by sort key (0 for a key without a number).
    pub(super) fn number(&self, key: &str) -> u64 {
        match key {
            "active" => self.active,
            "queued" => self.queued,
            "peak_active" => self.peak_active,
            "peak_queued" => self.peak_queued,
            "oldest_ms" => self.oldest_ms.map_or(0, u64::from),
            _ => 0,
        }
    }
}

/// A column of the index.
pub(super) struct Column {
    /// Its sort key (the query's `sort=`).
    pub(super) key: &'static str,
    pub(super) header: &'static str,
    /// What it means, on its header.
    pub(super) title: &'static str,
    /// `n` for numbers; `wide` for columns hidden on narrow screens.
    pub(super) class: &'static str,
    /// The row numbers it sorts by, biggest first; empty: by address.
    pub(super) sort: &'static [&'static str],
    /// Appends the cell (`<td>...</td>`).
    pub(super) cell: fn(&Row, &mut String),
}

/// The index's columns, left to right.
pub(super) const COLUMNS: &[Column] = &[
    Column {
        key: "address",
        header: "listener",
        title: "the listening address; follow it for a live tail",
        class: "",
        sort: &[],
        cell: |r, out| {
            let _ = write!(
                out,
                "<td><a href='tail/{u}.txt' title='&quot;tail&quot; output in real time' \
                 data-u='{u}'>{h}</a></td>",
                u = r.url,
                h = r.html
            );
        },
    },
    Column {
        key: "queued",
        header: "queued",
        title: "connections waiting to be accepted now; marked while not empty",
        class: "n",
        sort: &["queued", "active"],
        cell: |r, out| {
            let busy = if r.queued > 0 { " busy" } else { "" };
            let _ = write!(
                out,
                "<td class='n{busy}' data-busy='queued'><a href='queued/{}.html' \
                 title='queued now; the histogram since the last reset'><span data-v='queued'>{}</span></a></td>",
                r.url, r.queued
            );
        },
    },
    Column {
        key: "active",
        header: "active",
        title: "connections accepted and not yet closed, now",
        class: "n",
        sort: &["active", "queued"],
        cell: |r, out| {
            let _ = write!(
                out,
                "<td class='n'><a href='active/{}.html' \
                 title='active now; the histogram since the last reset'><span data-v='active'>{}</span></a></td>",
                r.url, r.active
            );
        },
    },
    Column {
        key: "oldest",
        header: "oldest wait",
        title: "how long the oldest connection in the queue has waited, now (blank when none \
                waits, and for Unix listeners, which have no such clock)",
        class: "n",
        sort: &["oldest_ms", "queued"],
        cell: |r, out| {
            let _ = write!(
                out,
                "<td class='n' title='the oldest wait in the queue now'>\
                 <span data-v='oldest_wait'>{}</span></td>",
                wait_text(r.oldest_ms)
            );
        },
    },
    Column {
        key: "trend",
        header: "trend",
        title: "queued (red area) and active (blue line) over the window; follow it for the chart",
        class: "",
        sort: &[],
        cell: |r, out| {
            let _ = write!(
                out,
                "<td><a href='chart/{}.html' title='the chart of this listener'>\
                 <svg class='spark' viewBox='0 0 {} {}' width='120' height='24' \
                 preserveAspectRatio='none' role='img' aria-label='queued and active over the window'>\
                 <path class='sq' data-d='spark_queued' d='{}'/>\
                 <path class='sa' data-d='spark_active' d='{}'/></svg></a></td>",
                r.url,
                spark::BUCKETS,
                spark::HEIGHT,
                r.spark_queued,
                r.spark_active
            );
        },
    },
    Column {
        key: "peak",
        header: "peak",
        title: "the most queued / active within the window",
        class: "n wide",
        sort: &["peak_queued", "peak_active"],
        cell: |r, out| {
            let _ = write!(
                out,
                "<td class='n wide' title='most queued / active within the window'>\
                 <span data-v='peak_queued'>{}</span> / <span data-v='peak_active'>{}</span></td>",
                r.peak_queued, r.peak_active
            );
        },
    },
    Column {
        key: "chart",
        header: "chart",
        title: "the last hour as a chart",
        class: "wide",
        sort: &[],
        cell: |r, out| {
            let _ = write!(
                out,
                "<td class='wide'><a href='chart/{}.html' title='the last hour as a chart'>chart</a></td>",
                r.url
            );
        },
    },
    Column {
        key: "reset",
        header: "reset",
        title: "forget the histograms and peaks since the last reset",
        class: "wide",
        sort: &[],
        cell: |r, out| {
            let _ = write!(
                out,
                "<td class='wide'><form action='reset/{}' method='post'>\
                 <input title='reset statistics' type='submit' name='x' value='x' /></form></td>",
                r.url
            );
        },
    },
];

/// An oldest wait as the index shows it: `1520 ms`, or blank for none.
pub(super) fn wait_text(ms: Option<u32>) -> String {
    ms.map(|ms| format!("{ms} ms")).unwrap_or_default()
}

/// The keys one may sort by: `pressure` (queued, then active: the default) and every
/// column's but the unsortable ones.
pub(super) fn sort_keys() -> Vec<&'static str> {
    let mut keys = vec!["pressure"];
    keys.extend(COLUMNS.iter().filter(|c| c.key == "address" || !c.sort.is_empty()).map(|c| c.key));
    keys
}

/// Orders `rows` by `sort`: its numbers biggest first, then the address.
pub(super) fn sort(rows: &mut [Row], sort: &str) {
    let numbers: &[&str] = match COLUMNS.iter().find(|c| c.key == sort) {
        Some(column) => column.sort,
        None => &["queued", "active"],
    };
    rows.sort_by(|a, b| {
        numbers
            .iter()
            .map(|key| b.number(key).cmp(&a.number(key)))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or_else(|| a.text.cmp(&b.text))
    });
}

/// The header row; each header links to the page sorted by it (`base_query`: the rest of the
/// query, already `&`-joined and escaped for HTML).
pub(super) fn header(out: &mut String, base_query: &str) {
    out.push_str("<thead><tr>");
    for c in COLUMNS {
        let class =
            if c.class.is_empty() { String::new() } else { format!(" class='{}'", c.class) };
        let sortable = c.key == "address" || !c.sort.is_empty();
        let _ = write!(out, "<th scope='col'{class} data-key='{}' title='{}'>", c.key, c.title);
        if sortable {
            let _ = write!(out, "<a href='?sort={}{base_query}'>{}</a></th>", c.key, c.header);
        } else {
            let _ = write!(out, "{}</th>", c.header);
        }
    }
    out.push_str("</tr></thead>");
}

/// One `<tr>` per row.
pub(super) fn body(out: &mut String, rows: &[Row]) {
    out.push_str("<tbody>");
    for row in rows {
        out.push_str("<tr>");
        for c in COLUMNS {
            (c.cell)(row, out);
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody>");
}
