//! A [`metrics`] recorder in shared memory, for preforking servers: counters, gauges and
//! histograms that every forked worker updates lock-free in its own row, registered by name in
//! a shared table before or after `fork`, and exported as OpenMetrics summed over workers by
//! any process. Existing `metrics::counter!`/`gauge!`/`histogram!` calls in an app then just
//! work across workers.
//!
//! # Use
//!
//! Build the [`SharedRecorder`] and install it before forking; each worker calls
//! [`SharedRecorder::set_worker`] after `fork`; any process serves
//! [`SharedRecorder::service`].
//!
//! ```no_run
//! use raindrops_metrics::SharedRecorder;
//!
//! let recorder = SharedRecorder::builder().workers(4).build()?;
//! metrics::set_global_recorder(recorder.clone())?;
//! // ... fork 4 workers; in worker i:
//! recorder.set_worker(0);
//! metrics::counter!("jobs_done", "queue" => "mail").increment(1);
//! // ... in the process that serves the metrics:
//! let _app: axum::Router = axum::Router::new().route_service("/metrics", recorder.service());
//! // served with raindrops_http::server::Server, under its connection policy
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The name table
//!
//! Keys (name and sorted labels, as the OpenMetrics series `name{a="x"}`) live in a bounded
//! open-addressing table in shared memory; an entry is claimed with a compare-and-swap, so two
//! processes registering the same key at once end with one entry. When it is full, the
//! registering methods ([`SharedRecorder::counter`], ...) return a [`RegisterError`] naming the
//! key, and the `metrics` macros get a no-op handle and print a warning on stderr.
//!
//! # Boundaries
//!
//! The recorder uses the core crate's shared memory ([`raindrops::SharedWords`],
//! [`raindrops::SharedAggregate`]) and the HTTP crate's formats
//! ([`raindrops_http::exposition`]); neither of those knows of `metrics`.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod error;
mod exporter;
mod key;
mod recorder;
mod table;

pub use error::{RegisterError, RegisterErrorKind};
pub use exporter::MetricsService;
pub use recorder::{Builder, SharedRecorder};
