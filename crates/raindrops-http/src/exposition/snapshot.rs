//! What the formats render: a [`Snapshot`] of the stats endpoint, its listeners
//! ([`ListenerSample`]) and the application's labelled counters ([`LabeledCounter`]).

use raindrops::{AggregateSnapshot, ListenerName};

/// What the stats endpoint shows at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Requests inside the application right now, summed over workers.
    pub calling: u64,
    /// Responses whose body is being written right now, summed over workers.
    pub writing: u64,
    /// Requests served so far, when known (not part of the raindrops-compatible text format).
    pub requests: Option<u64>,
    /// Listeners, TCP first then Unix, in the configured order.
    pub listeners: Vec<ListenerSample>,
    /// The application's own labelled counters (recycles by reason, say): in JSON and
    /// OpenMetrics, never in the raindrops-compatible text format.
    pub counters: Vec<LabeledCounter>,
    /// How long the connections this server accepted waited in the accept queue, in
    /// milliseconds (see [`accept_wait`](crate::listeners::accept_wait)), when it records
    /// them: in JSON (`accept_wait_ms`) and OpenMetrics
    /// ([`ACCEPT_WAIT_SECONDS`](super::families::ACCEPT_WAIT_SECONDS)), never in the
    /// raindrops-compatible text format.
    pub accept_waits: Option<AggregateSnapshot>,
}

/// A counter family with one label: `raindrops_{name}_total{{label="value"}}` in OpenMetrics,
/// `"{name}": {"value": n}` in JSON.
///
/// ```
/// use raindrops_http::exposition::{Format, LabeledCounter, Snapshot};
///
/// let recycles = LabeledCounter {
///     name: "recycles".into(),
///     help: "Workers recycled.".into(),
///     label: "reason".into(),
///     values: vec![("memory".into(), 3), ("requests".into(), 1)],
/// };
/// let snapshot = Snapshot { counters: vec![recycles], ..Snapshot::default() };
/// let metrics = Format::OpenMetrics.render(&snapshot);
/// assert!(metrics.contains("raindrops_recycles_total{reason=\"memory\"} 3\n"));
/// let json = Format::Json.render(&snapshot);
/// assert!(json.contains(r#""recycles":{"memory":3,"requests":1}"#));
/// assert_eq!(Format::Text.render(&snapshot), "calling: 0\nwriting: 0\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabeledCounter {
    /// The family's name without the `raindrops_` prefix and `_total` suffix: `[a-z_]+`.
    pub name: String,
    /// One sentence for `# HELP`.
    pub help: String,
    /// The label's name.
    pub label: String,
    /// `(label value, count)` in the order to show them.
    pub values: Vec<(String, u64)>,
}

/// One listener's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSample {
    /// The address as configured: `127.0.0.1:8080`, `[::]:80` or `/run/app.sock` (a Unix
    /// path's exact bytes, UTF-8 or not). Each format spells it safely: see
    /// [`Format::render`](super::Format::render).
    pub addr: ListenerName,
    /// Accepted connections still established.
    pub active: u64,
    /// Connections waiting for `accept()`.
    pub queued: u64,
    /// How long the queued connections have waited, when the source measures it (the kernel's,
    /// for TCP listeners: see [`raindrops::QueueWait`]); `None` for Unix listeners, which have
    /// no such clock, and for sources that do not measure it. Shown by the Watcher.
    pub wait: Option<raindrops::QueueWait>,
}
