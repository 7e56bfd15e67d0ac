//! `GET /chart/ADDR.html?window=1m|10m|1h`: an address's active and queued numbers, and the
//! oldest queued connection's wait in ms (0 when nothing waited; samples that measured no ages
//! are left out, and a Unix listener, whose queue has no ages, gets a line saying so instead
//! of a chart), as SVG charts whose time axis fits the history held within the window (a minute of samples fills
//! the width), values on hover, and its histograms since the last reset drawn as bars beside
//! the `aggregate` gem's text; no script. `.json`: the whole history as data, one point per
//! sample `[time, active, queued, oldest_wait_ms]` (the wait as on the chart: 0 when nothing
//! waited, `null` when the sample measured no ages, as for every sample of a Unix listener),
//! through the shared JSON writer. An address that is not watched gets empty charts and
//! stores nothing.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use raindrops::{Aggregate, ListenerName};
use serde_json::json;

use super::app::Watcher;
use super::chart;
use super::pages::escape_html;
use super::url::{Ext, RawFile, escape_url, split_file};
use super::window::Window;
use crate::exposition::histogram::header_value;
use crate::exposition::time::{http_date, iso8601};
use crate::exposition::{insert_json_name, json_line};

/// One point of history: `(time, active, queued, oldest wait in ms if measured)`.
type Point = (SystemTime, u64, u64, Option<u32>);

/// The window asked for by `?window=`; the whole history held by default.
fn window_of(query: Option<&str>) -> Option<Window> {
    let value = query?.split('&').find_map(|pair| pair.strip_prefix("window="))?;
    Window::ALL.into_iter().find(|w| w.key() == value)
}

/// The time a chart of `points` spans: from the first to the last, at least one `delay`.
fn span_of(points: &[Point], delay: Duration) -> Duration {
    match (points.first(), points.last()) {
        (Some(first), Some(last)) => last.0.duration_since(first.0).unwrap_or_default().max(delay),
        _ => delay,
    }
}

pub(super) async fn chart(
    State(watcher): State<Watcher>,
    RawFile(file): RawFile,
    RawQuery(query): RawQuery,
) -> Response {
    let Some((addr, ext)) = split_file(&file) else {
        return (StatusCode::NOT_FOUND, "Not Found\n").into_response();
    };
    let state = &watcher.state;
    let updated = state.latest.borrow().time;
    let (history, aggregates): (Vec<Point>, Option<(Aggregate, Aggregate)>) = {
        let addrs = state.addrs();
        match addrs.get(addr) {
            Some(a) => (
                a.history.iter().zip(&a.waits).map(|(&(t, a, q), &w)| (t, a, q, w)).collect(),
                Some((a.active.aggregate.clone(), a.queued.aggregate.clone())),
            ),
            None => (Vec::new(), None),
        }
    };
    let expires = header_value(&http_date(updated + state.delay));
    let name = ListenerName::from(addr);
    let body = match ext {
        Ext::Txt => return (StatusCode::NOT_FOUND, "Not Found\n").into_response(),
        Ext::Json => {
            let points: Vec<_> =
                history.iter().map(|&(t, a, q, w)| json!([iso8601(t), a, q, w])).collect();
            let mut body = serde_json::Map::new();
            insert_json_name(&mut body, "address", &name);
            body.insert("delay_seconds".into(), json!(state.delay.as_secs_f64()));
            body.insert("columns".into(), json!(["time", "active", "queued", "oldest_wait_ms"]));
            body.insert("points".into(), json!(points));
            let body = json_line(&serde_json::Value::Object(body));
            let content_type = header_value("application/json");
            return ([(header::CONTENT_TYPE, content_type), (header::EXPIRES, expires)], body)
                .into_response();
        }
        Ext::Html => {
            let window = window_of(query.as_deref());
            let last = history.last().map_or(updated, |p| p.0);
            let since = window.and_then(|w| last.checked_sub(w.duration()));
            let shown: Vec<Point> =
                history.iter().copied().filter(|p| since.is_none_or(|s| p.0 > s)).collect();
            page(&watcher, &name, &shown, window, aggregates, updated)
        }
    };
    ([(header::CONTENT_TYPE, header_value("text/html")), (header::EXPIRES, expires)], body)
        .into_response()
}

fn page(
    watcher: &Watcher,
    name: &ListenerName,
    points: &[Point],
    window: Option<Window>,
    aggregates: Option<(Aggregate, Aggregate)>,
    updated: SystemTime,
) -> String {
    let delay = watcher.state.delay;
    let span = span_of(points, delay);
    let series = |pick: fn(&Point) -> u64| -> Vec<(SystemTime, u64)> {
        points.iter().map(|p| (p.0, pick(p))).collect()
    };
    let (e_addr, h_addr) = (escape_url(name), escape_html(&name.to_text()));
    let (active, queued) = points.last().map_or((0, 0), |&(_, a, q, _)| (a, q));
    let waits: Vec<(SystemTime, u64)> =
        points.iter().filter_map(|p| Some((p.0, u64::from(p.3?)))).collect();
    let wait_svg = if waits.is_empty() {
        "<p class='no-waits'>No queue waits: none measured (a Unix listener's queue has no \
         ages).</p>"
            .to_owned()
    } else {
        chart::svg("oldest wait", "ms", &waits, span)
    };
    let mut windows = String::from("window:");
    for w in Window::ALL.into_iter().map(Some).chain([None]) {
        let label = w.map_or("all held", Window::label);
        if w == window {
            let _ = write!(windows, " <b>{label}</b>");
        } else {
            let query = w.map_or(String::new(), |w| format!("?window={}", w.key()));
            let _ = write!(windows, " <a href='{e_addr}.html{query}'>{label}</a>");
        }
    }
    let (active_agg, queued_agg) = aggregates.unwrap_or_default();
    format!(
        "<html><head><title>{host} - {h_addr}</title>\
         <meta name='viewport' content='width=device-width, initial-scale=1'>\
         <meta http-equiv='refresh' content='{refresh}'><style>{STYLE}</style></head><body>\
         <h3>{h_addr}</h3><p>Updated at {updated}: {active} active, {queued} queued; \
         {count} samples, one every {delay:?}.</p><p>{windows}</p>\
         {active_svg}<br/>{queued_svg}<br/>{wait_svg}\
         <h4>Histograms since the last reset</h4><div class='hists'>{active_bars}{queued_bars}</div>\
         <p><a href='../active/{e_addr}.html'>active histogram</a> \
         <a href='../queued/{e_addr}.html'>queued histogram</a> \
         <a href='../tail/{e_addr}.txt'>tail</a> <a href='../'>all listeners</a></p>\
         </body></html>",
        host = escape_html(&watcher.hostname),
        refresh = delay.as_secs().max(1),
        updated = iso8601(updated),
        count = points.len(),
        active_svg = chart::svg("active", "connections", &series(|p| p.1), span),
        queued_svg = chart::svg("queued", "connections", &series(|p| p.2), span),
        active_bars = bars("active", &active_agg),
        queued_bars = bars("queued", &queued_agg),
    )
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:8px;\
-webkit-text-size-adjust:100%;text-size-adjust:100%}\
h3{word-break:break-all}svg.chart{max-width:100%;height:auto}.hover:hover{fill-opacity:.15}\
.hists{display:flex;flex-direction:column;gap:16px}\
.hists section{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start;max-width:100%}\
table.bars{border-collapse:collapse;font-variant-numeric:tabular-nums}\
table.bars caption{text-align:left;font-weight:bold}\
table.bars td,table.bars th{padding:1px 6px;text-align:right}\
table.bars td.bar{width:160px;min-width:100px;text-align:left}\
.bar span{display:inline-block;height:10px;min-width:1px;background:#1f77b4}\
pre{margin:0;max-width:100%;overflow-x:auto;font-size:12px}";

/// A histogram (`title`: a fixed label) as a table of bars, one per bucket from the lowest to
/// the highest holding a sample, beside the gem's text of it.
fn bars(title: &str, aggregate: &Aggregate) -> String {
    let buckets: Vec<_> = aggregate.buckets().collect();
    let first = buckets.iter().position(|b| b.count > 0);
    let last = buckets.iter().rposition(|b| b.count > 0);
    let most = buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let mut out = format!(
        "<section><table class='bars'><caption>{title}: samples by value</caption>\
         <tr><th scope='col'>from</th><th scope='col'>samples</th><th></th></tr>"
    );
    if let (Some(first), Some(last)) = (first, last) {
        for bucket in &buckets[first..=last] {
            let width = bucket.count * 100 / most;
            let _ = write!(
                out,
                "<tr><td>{value}</td><td>{count}</td><td class='bar' \
                 title='{count} samples from {value}'><span style='width:{width}%'></span></td></tr>",
                value = bucket.value,
                count = bucket.count,
            );
        }
    }
    let _ = write!(out, "</table><pre>{}</pre></section>", escape_html(&aggregate.to_string()));
    out
}
