/*!
The one table of raindrops' metric families: name, type, unit and help. Every emitter (the
middleware's endpoint, the Watcher, LastDataRecv, `raindrops dump` and `raindrops stats`)
writes these through [`Exposition`](super::writer::Exposition), so a metric reads the same
wherever it appears.

```
use raindrops_http::exposition::families::{self, LISTENER_ACTIVE};

assert_eq!(LISTENER_ACTIVE.name, "raindrops_listener_active");
assert_eq!(families::lookup("raindrops_listener_active"), Some(&LISTENER_ACTIVE));
```
*/

use super::writer::{Family, Type};

const fn family(
    name: &'static str,
    kind: Type,
    unit: Option<&'static str>,
    help: &'static str,
) -> Family<'static> {
    Family { name, kind, unit, help: Some(help) }
}

/// Requests inside the application right now.
pub const CALLING: Family<'static> =
    family("raindrops_calling", Type::Gauge, None, "Requests inside the application.");
/// Responses whose body is being written right now.
pub const WRITING: Family<'static> =
    family("raindrops_writing", Type::Gauge, None, "Responses whose body is being written.");
/// Requests received so far.
pub const REQUESTS: Family<'static> =
    family("raindrops_requests", Type::Counter, None, "Requests received.");
/// A listener's accepted connections still established (label `addr`).
pub const LISTENER_ACTIVE: Family<'static> = family(
    "raindrops_listener_active",
    Type::Gauge,
    None,
    "Accepted connections still established.",
);
/// A listener's connections waiting for `accept()` (label `addr`).
pub const LISTENER_QUEUED: Family<'static> =
    family("raindrops_listener_queued", Type::Gauge, None, "Connections waiting for accept().");
/// The Watcher's peak of [`LISTENER_ACTIVE`] since the last reset.
pub const LISTENER_ACTIVE_PEAK: Family<'static> = family(
    "raindrops_listener_active_peak",
    Type::Gauge,
    None,
    "Most active connections since the last reset.",
);
/// The Watcher's peak of [`LISTENER_QUEUED`] since the last reset.
pub const LISTENER_QUEUED_PEAK: Family<'static> = family(
    "raindrops_listener_queued_peak",
    Type::Gauge,
    None,
    "Most queued connections since the last reset.",
);
/// The Watcher's histogram of sampled [`LISTENER_ACTIVE`] numbers.
pub const LISTENER_ACTIVE_SAMPLES: Family<'static> = family(
    "raindrops_listener_active_samples",
    Type::Histogram,
    None,
    "Sampled active numbers since the last reset.",
);
/// The Watcher's histogram of sampled [`LISTENER_QUEUED`] numbers.
pub const LISTENER_QUEUED_SAMPLES: Family<'static> = family(
    "raindrops_listener_queued_samples",
    Type::Histogram,
    None,
    "Sampled queued numbers since the last reset.",
);
/// When the Watcher's numbers were sampled.
pub const SAMPLE_TIME_SECONDS: Family<'static> = family(
    "raindrops_sample_time_seconds",
    Type::Gauge,
    Some("seconds"),
    "When the numbers were sampled (Unix time).",
);
/// LastDataRecv's histogram.
pub const LAST_DATA_RECV_MILLISECONDS: Family<'static> = family(
    "raindrops_last_data_recv_milliseconds",
    Type::Histogram,
    Some("milliseconds"),
    "How long accepted connections' first data waited in the accept queue \
     (tcpi_last_data_recv at accept).",
);
/// LastDataRecv's percentiles.
pub const LAST_DATA_RECV_QUANTILES_MILLISECONDS: Family<'static> = family(
    "raindrops_last_data_recv_quantiles_milliseconds",
    Type::Summary,
    Some("milliseconds"),
    "Percentiles of the same, within 1/128.",
);
/// The age of the oldest connection waiting in a listener's accept queue (label `addr`; no
/// sample when none waits). See [`raindrops::QueueWait`] for what the age measures.
pub const LISTENER_QUEUE_OLDEST_SECONDS: Family<'static> = family(
    "raindrops_listener_queue_oldest_seconds",
    Type::Gauge,
    Some("seconds"),
    "Age of the oldest connection waiting for accept() (since its handshake completed).",
);
/// The ages of the connections waiting in a listener's accept queue (label `addr`), each
/// counted at every sample that finds it waiting, so the histogram is cumulative (see
/// [`queue_waits`](super::queue_waits)); written with
/// [`histogram_ms_as_seconds`](super::writer::Exposition::histogram_ms_as_seconds).
pub const LISTENER_QUEUE_WAIT_SECONDS: Family<'static> = family(
    "raindrops_listener_queue_wait_seconds",
    Type::Histogram,
    Some("seconds"),
    "Ages of the connections waiting for accept(), each counted at every sample that finds it \
     waiting.",
);
/// How long accepted connections waited in the accept queue (the accept wrappers'
/// [`accept_wait`](crate::listeners::accept_wait)s), written with
/// [`histogram_ms_as_seconds`](super::writer::Exposition::histogram_ms_as_seconds).
pub const ACCEPT_WAIT_SECONDS: Family<'static> = family(
    "raindrops_accept_wait_seconds",
    Type::Histogram,
    Some("seconds"),
    "How long accepted connections waited in the accept queue (tcpi_last_data_sent at accept).",
);
/// Workers recycled by the killer, by reason (label `reason`).
pub const RECYCLES: Family<'static> =
    family("raindrops_recycles", Type::Counter, None, "Workers recycled, by reason.");
/// Seconds since each worker's last heartbeat in its stats row (label `worker`), as a reader
/// of a workers segment sees it (`raindrops dump --format prometheus`): a worker stuck in a
/// loop or a blocking call stops beating.
pub const WORKER_HEARTBEAT_AGE_SECONDS: Family<'static> = family(
    "raindrops_worker_heartbeat_age_seconds",
    Type::Gauge,
    Some("seconds"),
    "Seconds since the worker's last heartbeat in its stats row.",
);

/// `raindrops recycle`: a worker's memory (labels `pid` and `metric`: `uss`, `pss` and `rss`
/// side by side, from one read of `smaps_rollup`).
pub const RECYCLE_WORKER_MEMORY_BYTES: Family<'static> = family(
    "raindrops_recycle_worker_memory_bytes",
    Type::Gauge,
    Some("bytes"),
    "A worker's memory, by metric.",
);
/// `raindrops recycle`: a worker's memory limit, drawn once per worker (labels `pid`, `metric`).
pub const RECYCLE_WORKER_LIMIT_BYTES: Family<'static> = family(
    "raindrops_recycle_worker_limit_bytes",
    Type::Gauge,
    Some("bytes"),
    "A worker's memory limit, drawn once per worker.",
);
/// `raindrops recycle`: a worker's age (label `pid`).
pub const RECYCLE_WORKER_AGE_SECONDS: Family<'static> = family(
    "raindrops_recycle_worker_age_seconds",
    Type::Gauge,
    Some("seconds"),
    "Seconds since the worker started.",
);
/// `raindrops recycle`: escalation signals sent to workers being recycled (label `signal`).
pub const RECYCLE_SIGNALS: Family<'static> = family(
    "raindrops_recycle_signals",
    Type::Counter,
    None,
    "Escalation signals sent to workers being recycled, by signal.",
);

/// `raindrops recycle`: what a worker is doing (labels `pid` and `state`: `serving`, `due`,
/// `recycling`), one sample per state, 1 for the worker's state and 0 for the others: the
/// Prometheus convention for an enum (OpenMetrics' `stateset` type, which `promtool` and the
/// text format cannot read, as a gauge).
pub const RECYCLE_WORKER_STATE: Family<'static> = family(
    "raindrops_recycle_worker_state",
    Type::Gauge,
    None,
    "What a worker is doing: 1 for its state (serving, due, recycling), 0 for the others.",
);
/// `raindrops recycle`: workers being recycled now, counting one whose replacement the master
/// has not started yet (what `--max-restarting` bounds).
pub const RECYCLE_RECYCLING: Family<'static> = family(
    "raindrops_recycle_recycling",
    Type::Gauge,
    None,
    "Workers being recycled now, or whose replacement has not started yet.",
);
/// `raindrops recycle`: the most workers ever recycling at once since it started.
pub const RECYCLE_RECYCLING_MAX: Family<'static> = family(
    "raindrops_recycle_recycling_max",
    Type::Gauge,
    None,
    "The most workers recycling at once since recycle started.",
);

/// Every family of the table.
pub const ALL: [&Family<'static>; 24] = [
    &CALLING,
    &WRITING,
    &REQUESTS,
    &LISTENER_ACTIVE,
    &LISTENER_QUEUED,
    &LISTENER_ACTIVE_PEAK,
    &LISTENER_QUEUED_PEAK,
    &LISTENER_ACTIVE_SAMPLES,
    &LISTENER_QUEUED_SAMPLES,
    &LISTENER_QUEUE_OLDEST_SECONDS,
    &LISTENER_QUEUE_WAIT_SECONDS,
    &SAMPLE_TIME_SECONDS,
    &LAST_DATA_RECV_MILLISECONDS,
    &LAST_DATA_RECV_QUANTILES_MILLISECONDS,
    &ACCEPT_WAIT_SECONDS,
    &RECYCLES,
    &WORKER_HEARTBEAT_AGE_SECONDS,
    &RECYCLE_WORKER_MEMORY_BYTES,
    &RECYCLE_WORKER_LIMIT_BYTES,
    &RECYCLE_WORKER_AGE_SECONDS,
    &RECYCLE_SIGNALS,
    &RECYCLE_WORKER_STATE,
    &RECYCLE_RECYCLING,
    &RECYCLE_RECYCLING_MAX,
];

/// The family named `name` (a counter's without `_total`), if raindrops defines it.
///
/// ```
/// use raindrops_http::exposition::families::{REQUESTS, lookup};
/// assert_eq!(lookup("raindrops_requests"), Some(&REQUESTS));
/// assert_eq!(lookup("raindrops_nope"), None);
/// ```
pub fn lookup(name: &str) -> Option<&'static Family<'static>> {
    ALL.into_iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique_and_units_end_them() {
        let mut names: Vec<&str> = super::ALL.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), super::ALL.len());
        for f in super::ALL {
            assert!(f.name.starts_with("raindrops_"), "{}", f.name);
            if let Some(unit) = f.unit {
                assert!(f.name.ends_with(&format!("_{unit}")), "{}", f.name);
            }
        }
    }
}
