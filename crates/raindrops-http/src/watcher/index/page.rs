//! The index page's HTML: the controls, the table ([`super::columns`]) and the inline style
//! and script (`index.css`, `index.js`; no external assets).

use std::fmt::Write;

use super::columns::{self, Row};
use super::query::{Query, Window};
use super::{Sample, Watcher, escape_html};
use crate::exposition::time::iso8601;

const STYLE: &str = include_str!("index.css");
const SCRIPT: &str = include_str!("index.js");

/// The whole page.
pub(super) fn render(watcher: &Watcher, sample: &Sample, query: &Query, rows: &[Row]) -> String {
    let delay = watcher.state.delay;
    // Rows run 300-1,000 bytes: reserve once.
    let mut out = String::with_capacity(4096 + rows.len() * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>\
         <meta name='viewport' content='width=device-width, initial-scale=1'>\
         <title>{} - all interfaces</title>\
         <noscript><meta http-equiv='refresh' content='{}'></noscript>\
         <style>{STYLE}</style></head><body><h3>Updated at <span id='updated'>{}</span></h3>",
        escape_html(&watcher.hostname),
        delay.as_secs().max(1),
        iso8601(sample.time)
    );
    if let Some(error) = &sample.error {
        let _ = write!(out, "<p class='error'>Sampling failed: {}</p>", escape_html(error));
    }
    let filter = escape_html(&query.filter);
    let _ = write!(
        out,
        "<form id='controls' method='get' action=''>\
         <label>filter <input type='search' id='filter' name='q' value='{filter}' \
         placeholder='address contains' size='16'></label> \
         <label>window <select id='window' name='window'>"
    );
    for window in Window::ALL {
        let selected = if window == query.window { " selected" } else { "" };
        let _ =
            write!(out, "<option value='{}'{selected}>{}</option>", window.key(), window.label());
    }
    let _ = write!(
        out,
        "</select></label><input type='hidden' name='sort' value='{}'> \
         <button id='apply'>apply</button></form>",
        query.sort
    );
    let _ = write!(
        out,
        "<table id='listeners' data-delay='{}' data-sort='{}'>\
         <caption>{} listeners; trends and peaks over the last {}</caption>",
        delay.as_millis(),
        query.sort,
        rows.len(),
        query.window.label()
    );
    let mut rest = format!("&amp;window={}", query.window.key());
    if !query.filter.is_empty() {
        let _ = write!(rest, "&amp;q={}", escape_html(&url_component(&query.filter)));
    }
    columns::header(&mut out, &rest);
    columns::body(&mut out, rows);
    let _ = write!(
        out,
        "</table><p>This is the raindrops Watcher; <a href='metrics'>metrics</a> are in the \
         OpenMetrics format, <a href='index.json'>this table</a> in JSON.</p>\
         <script>{SCRIPT}</script></body></html>"
    );
    out
}

/// Percent-encodes `text` for a query value.
fn url_component(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
