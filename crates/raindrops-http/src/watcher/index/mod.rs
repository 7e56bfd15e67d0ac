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

pub(super) async fn index(
    State(watcher): State<Watcher>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let sample = watcher.state.latest.borrow().clone();
    let query = parse(raw.as_deref());
    let gzip = gzip::accepted(&headers);
    let render = || {
        let page = page::render(&watcher, &sample, &query, &rows(&watcher, &sample, &query));
        if gzip { gzip::compress(page.as_bytes()) } else { Bytes::from(page) }
    };
    // The page changes once per sample: render each view once, serve copies.
    let page = if query.filter.is_empty() {
        let key = format!("{}/{}/{gzip}", query.window.key(), query.sort);
        let mut cache = watcher.index.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get_or_render(sample.time, &key, render)
    } else {
        render()
    };
    respond(&watcher, &sample, "text/html", page, gzip)
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
    let sample = watcher.state.latest.borrow().clone();
    let query = parse(raw.as_deref());
    let rows = rows(&watcher, &sample, &query);
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
    let body = json_line(&body);
    let gzip = gzip::accepted(&headers);
    let body = if gzip { gzip::compress(body.as_bytes()) } else { Bytes::from(body) };
    respond(&watcher, &sample, "application/json", body, gzip)
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
