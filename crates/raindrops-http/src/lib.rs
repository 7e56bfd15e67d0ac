//! tower/axum integration for raindrops.
//!
//! # Middleware
//!
//! [`middleware::RaindropsLayer`] counts requests *calling* the app and responses *writing*
//! their body in shared per-worker counters, and serves `/_raindrops` in Ruby raindrops' exact
//! text format (plus JSON and OpenMetrics).
//!
//! # Accept-queue wait
//!
//! [`last_data_recv`] wraps TCP listeners with `TCP_DEFER_ACCEPT` and records how long each
//! accepted connection's first data waited (`tcpi_last_data_recv`), shown by a tower service
//! like raindrops' `Raindrops::LastDataRecv`.
//!
//! # Serving
//!
//! [`server::Server`] serves HTTP/1.1 under one [`server::ConnectionPolicy`] (header-read and
//! idle timeouts, connection and stream caps) for every server here.
//!
//! # Output formats
//!
//! [`exposition`] renders stats as text, JSON or OpenMetrics; the middleware, the Watcher and
//! the CLI share it.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod exposition;
pub mod last_data_recv;
pub mod listeners;
pub mod middleware;
pub mod server;
pub mod watcher;
pub mod x_headers;
