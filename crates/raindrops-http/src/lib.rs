//! tower/axum integration for raindrops.
//!
//! # Middleware
//!
//! [`middleware::RaindropsLayer`] counts requests *calling* the app and responses *writing*
//! their body in shared per-worker counters, and serves `/_raindrops` in Ruby raindrops' exact
//! text format (plus JSON and OpenMetrics).
//!
//! # Output formats
//!
//! [`exposition`] renders stats as text, JSON or OpenMetrics; the middleware, the Watcher and
//! the CLI share it.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod accept;
pub mod exposition;
pub mod kernel;
pub mod middleware;
pub mod watcher;
