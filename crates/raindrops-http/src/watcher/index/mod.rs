//! `GET /`: the index as a dashboard, one row per listener, the busiest first (queued, then
//! active), with sparklines and peaks over a chosen window; `GET /index.json`: the same rows
//! as data, which the page's small inline script reads to update itself in place. With
//! scripts off the page still refreshes itself (`<noscript>` meta refresh) and its sort
//! links and filter form work on the server.

#[cfg(test)]
mod bench;
mod columns;
mod gzip;
mod page;
mod query;
mod spark;

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

use super::addr_state::Sample;
use super::app::Watcher;
use super::pages::escape_html;
use super::url::escape_url;
use crate::exposition::histogram::header_value;
use crate::exposition::time::{http_date, iso8601};
use crate::exposition::{insert_json_name, json_line};
use columns::Row;
use query::Query;

/// The rows of `sample` that `query` shows, sorted as it asks.
fn rows(watcher: &Watcher, sample: &Sample, query: &Query) -> Vec<Row> {
    let state = &watcher.state;
    let addrs = state.addrs();
    // The oldest point held of any listener shown: the sparklines span no more than that.
    let oldest = sample
        .listeners
        .iter()
        .filter_map(|l| addrs.get(&l.addr)?.history.front().map(|p| p.0))
        .min()
        .unwrap_or(sample.time);
    let window = query.window.duration();
    let span = spark::span(window, oldest, sample.time, state.delay);
    let mut rows: Vec<Row> = sample
        .listeners
        .iter()
        .filter_map(|listener| {
            let text = listener.addr.to_text().into_owned();
            if !query.shows(&text) {
                return None;
            }
            // Rolled up when the window is whole; else (a young Watcher) from the history.
            let columns = addrs.get(&listener.addr).map(|state| {
                let rolled = (span == window).then(|| state.rollups.columns(window, sample.time));
                rolled
                    .flatten()
                    .unwrap_or_else(|| spark::columns(&state.history, sample.time, span))
            });
            let columns = columns.unwrap_or([None; spark::BUCKETS]);
            let (peak_active, peak_queued) = spark::peaks(&columns);
            let max = peak_active.max(peak_queued);
            Some(Row {
                addr: listener.addr.clone(),
                html: escape_html(&text),
                url: escape_url(&listener.addr),
                active: listener.active,
                queued: listener.queued,
                peak_active: peak_active.max(listener.active),
                peak_queued: peak_queued.max(listener.queued),
                oldest_ms: listener.wait.as_ref().and_then(raindrops::QueueWait::oldest_ms),
                spark_active: spark::line(&columns, max, |(a, _)| a),
                spark_queued: spark::area(&spark::line(&columns, max, |(_, q)| q)),
                text,
            })
        })
        .collect();
    drop(addrs);
    columns::sort(&mut rows, query.sort);
    rows
}

fn parse(query: Option<&str>) -> Query {
    Query::parse(query.unwrap_or(""), &columns::sort_keys())
}

/// What the index serves: the page, or its rows as data.
#[derive(Debug, Clone, Copy)]
enum View {
    Page,
    Json,
}

impl View {
    /// Its part of the cache key.
    fn kind(self) -> &'static str {
        match self {
            View::Page => "html",
            View::Json => "json",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            View::Page => "text/html",
            View::Json => "application/json",
        }
    }

    fn render(self, watcher: &Watcher, sample: &Sample, query: &Query) -> String {
        match self {
            View::Page => page::render(watcher, sample, query, &rows(watcher, sample, query)),
            View::Json => json(watcher, sample, query),
        }
    }

    /// The response to a request with `raw` query and `headers`: rendered once per sample
    /// and view, gzipped when the client accepts it.
    fn respond(self, watcher: &Watcher, raw: Option<&str>, headers: &HeaderMap) -> Response {
        let sample = watcher.state.latest.borrow().clone();
        let query = parse(raw);
        let gzip = gzip::accepted(headers);
        let body = cached(watcher, &sample, self.kind(), &query, gzip, || {
            self.render(watcher, &sample, &query)
        });
        respond(watcher, &sample, self.content_type(), body, gzip)
    }
}

/// `GET /`: the dashboard page (see the module docs).
pub(super) async fn index(
    State(watcher): State<Watcher>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    View::Page.respond(&watcher, raw.as_deref(), &headers)
}

/// `GET /index.json`: `{"time", "delay_seconds", "window", "sort", "listeners": [...]}`, each
/// listener with its `address` (escaped and flagged when not UTF-8), `url` (as in links) and
/// every number and sparkline of its row: `oldest_ms` is the oldest queued connection's wait
/// (null when none waits, and for Unix listeners), `oldest_wait` the same as shown.
pub(super) async fn index_json(
    State(watcher): State<Watcher>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    View::Json.respond(&watcher, raw.as_deref(), &headers)
}

/// The view `kind` (`html`, `json`) of `sample` for `query`, gzipped if `gzip`: it changes
/// once per sample, so each view is rendered once (by `render`) and every client polling it
/// gets a copy (the cache keeps at most [`PageCache::MAX_VIEWS`](super::page_cache::PageCache)).
fn cached(
    watcher: &Watcher,
    sample: &Sample,
    kind: &str,
    query: &Query,
    gzip: bool,
    render: impl FnOnce() -> String,
) -> Bytes {
    // The filter last: any text, it cannot run into the other parts.
    let key = format!("{kind}/{}/{}/{gzip}/{}", query.window.key(), query.sort, query.filter);
    let mut cache = watcher.index.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    cache.get_or_render(sample.time, &key, || {
        let body = render();
        if gzip { gzip::compress(body.as_bytes()) } else { Bytes::from(body) }
    })
}

/// The body of `/index.json` (see [`index_json`]).
fn json(watcher: &Watcher, sample: &Sample, query: &Query) -> String {
    let rows = rows(watcher, sample, query);
    let listeners: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let mut out = serde_json::Map::new();
            insert_json_name(&mut out, "address", &row.addr);
            out.insert("url".into(), json!(row.url));
            out.insert("active".into(), json!(row.active));
            out.insert("queued".into(), json!(row.queued));
            out.insert("peak_active".into(), json!(row.peak_active));
            out.insert("peak_queued".into(), json!(row.peak_queued));
            out.insert("oldest_ms".into(), json!(row.oldest_ms));
            out.insert("oldest_wait".into(), json!(columns::wait_text(row.oldest_ms)));
            out.insert("spark_active".into(), json!(row.spark_active));
            out.insert("spark_queued".into(), json!(row.spark_queued));
            serde_json::Value::Object(out)
        })
        .collect();
    let body = json!({
        "time": iso8601(sample.time),
        "delay_seconds": watcher.state.delay.as_secs_f64(),
        "window": query.window.key(),
        "sort": query.sort,
        "error": sample.error,
        "listeners": listeners,
    });
    json_line(&body)
}

/// The response: `body` (gzipped if `gzip`, then said so, and that it varies by
/// `Accept-Encoding`), fresh until the next sample.
fn respond(
    watcher: &Watcher,
    sample: &Arc<Sample>,
    content_type: &str,
    body: Bytes,
    gzip: bool,
) -> Response {
    let expires = sample.time + watcher.state.delay;
    let mut response = (
        [
            (header::CONTENT_TYPE, header_value(content_type)),
            (header::LAST_MODIFIED, header_value(&http_date(sample.time))),
            (header::EXPIRES, header_value(&http_date(expires))),
        ],
        body,
    )
        .into_response();
    if gzip {
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_ENCODING, header_value("gzip"));
        headers.insert(header::VARY, header_value("Accept-Encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::exposition::ListenerSample;
    use crate::listeners::Listeners;

    /// Two TCP listeners with fixed numbers.
    struct Two;

    impl Listeners for Two {
        fn sample(&self) -> std::io::Result<Vec<ListenerSample>> {
            Ok(["127.0.0.1:1", "127.0.0.2:2"]
                .iter()
                .map(|a| ListenerSample {
                    addr: a.to_string().into(),
                    active: 1,
                    queued: 0,
                    wait: None,
                })
                .collect())
        }
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// Every view of a sample (the page and its JSON, filtered or not, plain or gzipped) is
    /// rendered once and then served as a copy, under a key that tells filters apart.
    #[tokio::test]
    async fn pages_and_json_are_rendered_once_per_sample_and_view() {
        let watcher = Watcher::builder(Two, Duration::from_secs(3600)).start().unwrap();
        let get = |query: &str| (State(watcher.clone()), RawQuery(Some(query.to_owned())));
        let mut gzipped = HeaderMap::new();
        gzipped.insert(header::ACCEPT_ENCODING, header_value("gzip"));
        let mut seen = Vec::new();
        for _ in 0..2 {
            let (state, query) = get("window=1m");
            seen.push(body(index_json(state, query, HeaderMap::new()).await).await);
            let (state, query) = get("window=1m&q=127.0.0.2");
            seen.push(body(index_json(state, query, HeaderMap::new()).await).await);
            let (state, query) = get("q=127.0.0.1");
            seen.push(body(index(state, query, HeaderMap::new()).await).await);
            let (state, query) = get("");
            let _ = index_json(state, query, gzipped.clone()).await;
        }
        assert_eq!(seen[..3], seen[3..]);
        assert!(seen[0].contains("127.0.0.1:1") && seen[0].contains("127.0.0.2:2"), "{}", seen[0]);
        assert!(!seen[1].contains("127.0.0.1:1") && seen[1].contains("127.0.0.2:2"), "{}", seen[1]);
        assert!(seen[2].contains(">127.0.0.1:1<") && !seen[2].contains(">127.0.0.2:2<"));
        let cache = watcher.index.lock().unwrap();
        assert_eq!(
            cache.keys(),
            [
                "json/1m/pressure/false/",
                "json/1m/pressure/false/127.0.0.2",
                "html/10m/pressure/false/127.0.0.1",
                "json/10m/pressure/true/"
            ]
        );
    }
}
