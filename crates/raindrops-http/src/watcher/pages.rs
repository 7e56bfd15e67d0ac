//! The Watcher's handlers and what they render.

use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use raindrops::{ListenerName, QueueWait, RubyFloat};
use serde_json::json;

use super::addr_state::{AddrState, Series};
use super::app::Watcher;
use super::redirect;
use super::url::{Ext, RawFile, escape_url, split_file, valid_addr};
use crate::exposition::families::{
    LISTENER_ACTIVE, LISTENER_ACTIVE_PEAK, LISTENER_ACTIVE_SAMPLES, LISTENER_QUEUED,
    LISTENER_QUEUED_PEAK, LISTENER_QUEUED_SAMPLES, SAMPLE_TIME_SECONDS,
};
use crate::exposition::histogram::{self, header_value};
use crate::exposition::time::{http_date, iso8601};
use crate::exposition::writer::{Dialect, Exposition, Labels};
use crate::exposition::{Format, insert_json_name, json_line};
use crate::x_headers::{Style, x_headers};

/// Which number of an address a histogram is about.
#[derive(Clone, Copy)]
enum Which {
    Active,
    Queued,
    /// The oldest queued connection's wait, in ms.
    Wait,
}

/// Escapes `text` for HTML text and attribute values.
pub(super) fn escape_html(text: &str) -> String {
    escape(text, false)
}

/// [`escape_html`] as Rack 2.2's `Rack::Utils.escape_html` (Debian 12's ruby-rack), which Ruby
/// raindrops' Watcher calls: `'` is `&#x27;` and `/` is `&#x2F;` too. For the Ruby-compatible
/// histogram pages, which keep Ruby's bytes.
fn escape_html_rack(text: &str) -> String {
    escape(text, true)
}

fn escape(text: &str, rack: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' if rack => out.push_str("&#x27;"),
            '\'' => out.push_str("&#39;"),
            '/' if rack => out.push_str("&#x2F;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain")], "Not Found\n").into_response()
}

pub(super) async fn active(State(watcher): State<Watcher>, RawFile(file): RawFile) -> Response {
    histogram(&watcher, Which::Active, &file)
}

pub(super) async fn queued(State(watcher): State<Watcher>, RawFile(file): RawFile) -> Response {
    histogram(&watcher, Which::Queued, &file)
}

pub(super) async fn wait(State(watcher): State<Watcher>, RawFile(file): RawFile) -> Response {
    histogram(&watcher, Which::Wait, &file)
}

/// A histogram's data, copied out of the lock.
struct Histogram {
    updated: SystemTime,
    reset_at: SystemTime,
    series: Series,
    current: u64,
}

fn histogram_of(watcher: &Watcher, which: Which, addr: &[u8]) -> Histogram {
    let state = &watcher.state;
    let sample = state.latest.borrow().clone();
    let current = sample.listeners.iter().find(|l| l.addr == *addr);
    let addrs = state.addrs();
    match (addrs.get(addr), current) {
        (Some(AddrState { active, queued, wait, reset_at, .. }), Some(current)) => {
            let (series, current) = match which {
                Which::Active => (active.clone(), current.active),
                Which::Queued => (queued.clone(), current.queued),
                Which::Wait => (
                    wait.clone(),
                    current.wait.as_ref().and_then(QueueWait::oldest_ms).map_or(0, u64::from),
                ),
            };
            Histogram { updated: sample.time, reset_at: *reset_at, series, current }
        }
        // Not watched (or gone): an empty histogram, and nothing stored.
        _ => Histogram {
            updated: sample.time,
            reset_at: state.started,
            series: Series::new(state.started),
            current: 0,
        },
    }
}

fn histogram(watcher: &Watcher, which: Which, file: &[u8]) -> Response {
    let Some((addr, ext)) = split_file(file) else {
        return (StatusCode::NOT_FOUND, "Not Found\n").into_response();
    };
    let h = histogram_of(watcher, which, addr);
    let addr = ListenerName::from(addr);
    let agg = &h.series.aggregate;
    let mut x_headers = x_headers(agg, Style::Watcher);
    x_headers.push(("X-Last-Reset", http_date(h.reset_at)));
    x_headers.push(("X-Current", h.current.to_string()));
    x_headers.push(("X-First-Peak-At", http_date(h.series.peak.first)));
    x_headers.push(("X-Last-Peak-At", http_date(h.series.peak.last)));

    let (content_type, body) = match ext {
        Ext::Txt => ("text/plain", agg.to_string()),
        Ext::Html => {
            let rows: String = x_headers
                .iter()
                .map(|(k, v)| {
                    format!("<tr><td>{}</td><td>{}</td></tr>", &k[2..], escape_html_rack(v))
                })
                .collect();
            let body = format!(
                "<html><head><title>{} - {}</title></head><body><table>{rows}</table>\
                 <pre>{}</pre><form action='../reset/{}' method='post'>\
                 <input type='submit' name='x' value='reset' /></form></body>",
                escape_html_rack(&watcher.hostname),
                escape_html_rack(&addr.to_text()),
                escape_html_rack(&agg.to_string()),
                escape_url(&addr)
            );
            ("text/html", body)
        }
        Ext::Json => {
            let mut body = serde_json::Map::new();
            insert_json_name(&mut body, "address", &addr);
            body.extend(histogram::json(agg, &[]));
            body.insert("last_reset".into(), json!(iso8601(h.reset_at)));
            body.insert("current".into(), json!(h.current));
            body.insert("first_peak_at".into(), json!(iso8601(h.series.peak.first)));
            body.insert("last_peak_at".into(), json!(iso8601(h.series.peak.last)));
            ("application/json", json_line(&serde_json::Value::Object(body)))
        }
    };
    let mut response = histogram::response(x_headers, content_type, body);
    let expires = header_value(&http_date(h.updated + watcher.state.delay));
    response.headers_mut().insert(header::EXPIRES, expires);
    response
}

pub(super) async fn reset(
    State(watcher): State<Watcher>,
    RawFile(addr): RawFile,
    headers: HeaderMap,
) -> Response {
    if !valid_addr(&addr) || !watcher.state.reset(&addr) {
        return (StatusCode::NOT_FOUND, "Not Found\n").into_response();
    }
    let text = |name| headers.get(name).and_then(|value: &HeaderValue| value.to_str().ok());
    let to = redirect::back_to(text(header::REFERER), text(header::HOST));
    // Headers in Ruby raindrops' order: Location, then the type (not the body's default first).
    let mut response = format!("Redirecting to {to}").into_response();
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    headers.clear();
    headers.insert(header::LOCATION, header_value(to));
    headers.insert(header::CONTENT_TYPE, header_value("text/plain"));
    response
}

/// `?active_min=N&queued_min=N`, read leniently like Ruby's `to_i`: a missing or malformed
/// number is 0 (a leading run of digits counts, as in `"12abc"`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct TailQuery {
    active_min: u64,
    queued_min: u64,
}

impl TailQuery {
    fn parse(query: &str) -> Self {
        let mut parsed = TailQuery::default();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let digits = value.bytes().take_while(u8::is_ascii_digit).count();
            let number = value[..digits].parse().unwrap_or(if digits > 0 { u64::MAX } else { 0 });
            match key {
                "active_min" => parsed.active_min = number,
                "queued_min" => parsed.queued_min = number,
                _ => {}
            }
        }
        parsed
    }
}

pub(super) async fn tail(
    State(watcher): State<Watcher>,
    RawFile(file): RawFile,
    RawQuery(query): RawQuery,
) -> Response {
    let (addr, json) = match split_file(&file) {
        Some((addr, Ext::Txt)) => (addr, false),
        Some((addr, Ext::Json)) => (addr, true),
        _ => return (StatusCode::NOT_FOUND, "Not Found\n").into_response(),
    };
    let query = TailQuery::parse(query.as_deref().unwrap_or(""));
    let Some(guard) = watcher.tails.try_acquire() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "Too many tails\n").into_response();
    };
    let addr = ListenerName::from(addr);
    let width = addr.escaped().len().min(35);
    let mut latest = watcher.state.latest.clone();
    latest.mark_unchanged();
    let lines = futures_util::stream::unfold((latest, guard), move |(mut latest, guard)| {
        let addr = addr.clone();
        async move {
            loop {
                latest.changed().await.ok()?;
                let sample = latest.borrow_and_update().clone();
                let Some(l) = sample.listeners.iter().find(|l| l.addr == addr) else { continue };
                if l.active >= query.active_min && l.queued >= query.queued_min {
                    let time = iso8601(sample.time);
                    let line = if json {
                        let mut line = serde_json::Map::new();
                        line.insert("time".into(), json!(time));
                        insert_json_name(&mut line, "address", &addr);
                        line.insert("active".into(), json!(l.active));
                        line.insert("queued".into(), json!(l.queued));
                        json_line(&serde_json::Value::Object(line))
                    } else {
                        format!("{time:>20} {addr:>width$} {:>10} {:>10}\n", l.active, l.queued)
                    };
                    return Some((Ok::<_, std::io::Error>(Bytes::from(line)), (latest, guard)));
                }
            }
        }
    });
    let content_type = if json { "application/x-ndjson" } else { "text/plain" };
    (
        [
            (header::CONTENT_TYPE, header_value(content_type)),
            (header::CACHE_CONTROL, header_value("no-transform")),
            (header::EXPIRES, header_value(&http_date(SystemTime::UNIX_EPOCH))),
        ],
        Body::from_stream(lines),
    )
        .into_response()
}

/// One gauge of the metrics page: from the current sample and the address's state.
type MetricValue = fn(&crate::exposition::ListenerSample, Option<&AddrState>) -> Option<u64>;

/// One of an address's series, for the metrics page's histograms.
type SeriesOf = fn(&AddrState) -> &Series;

/// The most a series has seen since its reset.
fn peak(series: &Series) -> Option<u64> {
    series.aggregate.max().map(|m| m.max(0) as u64)
}

/// `GET /metrics`: OpenMetrics, by [`Format::negotiate`] (the path ends in `/metrics`).
pub(super) async fn metrics(
    State(watcher): State<Watcher>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let format = Format::negotiate(uri.path(), &headers);
    let sample = watcher.state.latest.borrow().clone();
    let addrs = watcher.state.addrs();
    let gauges: [(_, MetricValue); 4] = [
        (&LISTENER_ACTIVE, |l, _| Some(l.active)),
        (&LISTENER_QUEUED, |l, _| Some(l.queued)),
        (&LISTENER_ACTIVE_PEAK, |_, s| s.and_then(|s| peak(&s.active))),
        (&LISTENER_QUEUED_PEAK, |_, s| s.and_then(|s| peak(&s.queued))),
    ];
    let mut out = Exposition::new(Dialect::OpenMetrics);
    for (family, value) in gauges {
        out.family(family);
        for listener in &sample.listeners {
            if let Some(v) = value(listener, addrs.get(&listener.addr)) {
                out.sample(&Labels::addr(&listener.addr), v);
            }
        }
    }
    crate::exposition::queue_waits::write(
        &mut out,
        sample.listeners.iter().map(|l| (&l.addr, l.wait.as_ref().and_then(QueueWait::oldest_ms))),
        sample
            .listeners
            .iter()
            .filter(|l| l.wait.is_some())
            .filter_map(|l| addrs.get(&l.addr).map(|state| (&l.addr, &state.ages))),
    );
    let histograms: [(_, SeriesOf); 2] =
        [(&LISTENER_ACTIVE_SAMPLES, |s| &s.active), (&LISTENER_QUEUED_SAMPLES, |s| &s.queued)];
    for (family, series) in histograms {
        out.family(family);
        for listener in &sample.listeners {
            if let Some(state) = addrs.get(&listener.addr) {
                out.histogram(&Labels::addr(&listener.addr), &series(state).aggregate);
            }
        }
    }
    drop(addrs);
    let time = sample.time.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    out.family(&SAMPLE_TIME_SECONDS).sample(&Labels::none(), RubyFloat(time));
    ([(header::CONTENT_TYPE, format.content_type())], out.finish()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_query_is_lenient() {
        assert_eq!(TailQuery::parse(""), TailQuery::default());
        assert_eq!(
            TailQuery::parse("active_min=3&queued_min=12abc&x=1"),
            TailQuery { active_min: 3, queued_min: 12 }
        );
        assert_eq!(TailQuery::parse("queued_min=-1").queued_min, 0);
        assert_eq!(TailQuery::parse("active_min=99999999999999999999999").active_min, u64::MAX);
    }

    proptest::proptest! {
        /// Any query string parses without panicking.
        #[test]
        fn tail_query_never_panics(query in ".*") {
            let _ = TailQuery::parse(&query);
        }
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_html("<script>'\"&"), "&lt;script&gt;&#39;&quot;&amp;");
        assert_eq!(escape_html_rack("</a>'\"&"), "&lt;&#x2F;a&gt;&#x27;&quot;&amp;");
    }
}
