//! A preforking supervisor: the role unicorn's master plays, for Rust servers.
//!
//! The master binds the listeners (or inherits them from systemd), forks N workers and
//! supervises them. It never starts an async runtime: each worker builds its own tokio
//! runtime after `fork` and runs the app, a closure given a [`WorkerContext`], on the
//! inherited listeners. The crate knows nothing of HTTP.
//!
//! # Supervision
//!
//! * Dead workers are reaped (`waitpid`), their rows retired (the master's own, and the
//!   app's through [`Prefork::on_worker_exit`]), and respawned. A worker that dies before it
//!   serves makes the next fork wait, doubling up to a cap: a crash at start never becomes a
//!   fork storm.
//! * Each worker beats from its runtime into a shared [`raindrops::Workers`] row; a worker whose
//!   beat is older than the [timeout](Builder::timeout) (a handler spinning on the runtime) is
//!   killed with SIGKILL and replaced.
//! * Workers die within a second of the master: `PR_SET_PDEATHSIG`, plus a pipe whose write end
//!   only the master holds (end of file also after the master `exec`s).
//! * A worker told to stop gracefully (replaced, no longer needed, or SIGQUIT to the master)
//!   that does not exit is escalated: SIGQUIT up to 10 times, SIGTERM up to 5 times, then
//!   SIGKILL, one step a second ([`Builder::escalation`]), each step logged.
//! * A worker may ask to be replaced ([`WorkerContext::request_restart`]): the master starts the
//!   replacement, waits until it serves, then stops the old one gracefully, at most
//!   [`max_restarting`](Builder::max_restarting) at a time.
//! * Socket activation (`LISTEN_FDS`, `LISTEN_PID`) and readiness (`READY=1` to
//!   `NOTIFY_SOCKET`, see [`notify`]) for systemd.
//! * Every event (a worker started, serving, replaced, killed; a signal) is a `tracing` event:
//!   install a subscriber before [`Prefork::run`], e.g. with the [`log::Lines`] format.
//!
//! # Signals
//!
//! The master follows unicorn:
//!
//! | signal | effect |
//! |--------|--------|
//! | QUIT | graceful stop: workers stop accepting, finish in-flight requests and exit; then the master exits |
//! | TERM, INT | quick stop: workers are sent TERM (SIGKILL after 2 s) |
//! | TTIN, TTOU | one worker more, one fewer |
//! | HUP | rolling restart: each worker is replaced by a new one that serves before the old one stops |
//! | USR1 | reopen the [log file](Builder::log_file), in the master and every worker |
//!
//! # Example
//!
//! ```no_run
//! use raindrops_prefork::{Prefork, WorkerContext};
//! use tokio::io::AsyncWriteExt;
//!
//! async fn app(ctx: WorkerContext) -> std::io::Result<()> {
//!     let listener = ctx.tcp_listener()?;
//!     loop {
//!         tokio::select! {
//!             accepted = listener.accept() => {
//!                 let (mut stream, _) = accepted?;
//!                 tokio::spawn(async move { stream.write_all(b"hello\n").await });
//!             }
//!             () = ctx.shutdown() => return Ok(()),
//!         }
//!     }
//! }
//!
//! let prefork = Prefork::builder().workers(4).listen("127.0.0.1:8080".parse()?).build()?;
//! prefork.run(app)?; // returns in the master when it is told to stop
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod activation;
mod backoff;
mod builder;
mod child;
mod control;
mod error;
mod escalation;
mod listener;
pub mod log;
mod master;
mod notify;
mod settings;
mod supervision;
#[allow(unsafe_code)]
mod sys;
mod tick;
mod worker;

pub use builder::Builder;
pub use error::{ConfigError, PreforkError};
pub use escalation::{ABRUPT_TRIES, Escalation, GRACEFUL_TRIES, INTERVAL};
pub use listener::{AsyncListener, Listener};
pub use notify::notify;
pub use settings::Prefork;
pub use tick::{Replacement, WorkerInfo};
pub use worker::WorkerContext;
