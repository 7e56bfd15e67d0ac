/*!
The output formats of raindrops' stats, in one place: the middleware's endpoint, the Watcher and
the CLI all render a [`Snapshot`] through [`Format::render`]; histograms (the Watcher's pages,
`LastDataRecv`, the `metrics` exporter) render through [`histogram`].

* [`Format::Text`]: byte for byte what Ruby raindrops' middleware prints, so existing scrapers
  keep working;
* [`Format::Json`]: one object;
* [`Format::OpenMetrics`]: the OpenMetrics text format for Prometheus.

```
use raindrops_http::exposition::{Format, ListenerSample, Snapshot};

let snapshot = Snapshot {
    calling: 1,
    writing: 0,
    requests: Some(10),
    listeners: vec![ListenerSample { addr: "127.0.0.1:8080".into(), active: 2, queued: 0, wait: None }],
    ..Snapshot::default()
};
assert_eq!(
    Format::Text.render(&snapshot),
    "calling: 1\nwriting: 0\n127.0.0.1:8080 active: 2\n127.0.0.1:8080 queued: 0\n"
);
```
*/

pub mod histogram;
mod json;
pub use json::{PrettyObject, insert_json_name, json_line};
pub mod families;
mod openmetrics;
pub mod queue_waits;
mod snapshot;
mod text;
pub mod time;
pub mod writer;
pub use writer::{escape_label, escape_name_label};

pub use snapshot::{LabeledCounter, ListenerSample, Snapshot};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// raindrops' `name: value` lines.
    Text,
    /// One JSON object.
    Json,
    /// OpenMetrics text, ending in `# EOF`.
    OpenMetrics,
}

impl Format {
    /// Whether a request's `Accept` header asks for OpenMetrics (as Prometheus' does).
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue, header::ACCEPT};
    /// use raindrops_http::exposition::Format;
    ///
    /// let mut headers = HeaderMap::new();
    /// assert!(!Format::accepts_openmetrics(&headers));
    /// headers.insert(ACCEPT, HeaderValue::from_static("application/openmetrics-text; version=1.0.0"));
    /// assert!(Format::accepts_openmetrics(&headers));
    /// ```
    pub fn accepts_openmetrics(headers: &http::HeaderMap) -> bool {
        let accept = headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok());
        accept.is_some_and(|a| a.contains("application/openmetrics-text"))
    }

    /// The format a request for `path` asks for, the one rule of every endpoint: a path
    /// ending in `.json` is JSON; one ending in `/metrics`, or a request whose `Accept` asks for
    /// OpenMetrics (as Prometheus' does), is OpenMetrics; anything else the text. Endpoints
    /// mounted under a base path pass what follows it (the middleware's `/_raindrops` passes
    /// `""`, `".json"` or `"/metrics"`), so a base path of its own never picks a format.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue, header::ACCEPT};
    /// use raindrops_http::exposition::Format;
    ///
    /// let none = HeaderMap::new();
    /// let mut prometheus = HeaderMap::new();
    /// prometheus.insert(ACCEPT, HeaderValue::from_static("application/openmetrics-text; version=1.0.0"));
    /// assert_eq!(Format::negotiate("/_last_data_recv", &none), Format::Text);
    /// assert_eq!(Format::negotiate("/_last_data_recv", &prometheus), Format::OpenMetrics);
    /// assert_eq!(Format::negotiate(".json", &prometheus), Format::Json);
    /// assert_eq!(Format::negotiate("/metrics", &none), Format::OpenMetrics);
    /// ```
    pub fn negotiate(path: &str, headers: &http::HeaderMap) -> Format {
        if path.ends_with(".json") {
            Format::Json
        } else if path.ends_with("/metrics") || Format::accepts_openmetrics(headers) {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    /// The `Content-Type` of the format.
    ///
    /// ```
    /// use raindrops_http::exposition::Format;
    /// assert_eq!(Format::Text.content_type(), "text/plain");
    /// ```
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain",
            Format::Json => "application/json",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// Renders `snapshot` in this format.
    ///
    /// A listener's name (see [`ListenerName`](raindrops::ListenerName)) is written as it is when it is UTF-8 and
    /// harmless, so ordinary names print byte for byte as Ruby raindrops prints them:
    ///
    /// * Text: [`escape_bytes`](raindrops::escape_bytes) (a name with a newline or an escape
    ///   code cannot forge lines or reach a terminal raw; `\` is doubled, bytes that are not
    ///   UTF-8 are `\xHH`);
    /// * JSON: `"addr"` is the name as a JSON string; a name that is not UTF-8 is given
    ///   escaped by `escape_bytes` instead, with `"addr_escaped": true` beside it
    ///   ([`unescape_bytes`](raindrops::unescape_bytes) gives back the bytes);
    /// * OpenMetrics: the label value is the name's `escape_bytes` spelling, with OpenMetrics'
    ///   own escapes ([`escape_name_label`]): label values must be UTF-8, and these outputs are
    ///   often read on a terminal.
    ///
    /// ```
    /// use raindrops_http::exposition::{Format, Snapshot};
    /// let text = Format::OpenMetrics.render(&Snapshot::default());
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    pub fn render(self, snapshot: &Snapshot) -> String {
        match self {
            Format::Text => text::render(snapshot),
            Format::Json => json::render(snapshot),
            Format::OpenMetrics => openmetrics::render(snapshot),
        }
    }
}
