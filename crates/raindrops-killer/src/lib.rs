//! Worker recycling, the role Ruby's stalin plays: recycle a worker before its memory makes
//! the host swap, after a number of requests, or after a lifetime, one at a time and without
//! failing a request.
//!
//! # Policies
//!
//! A [`Policy`] combines optional limits: memory (any [`MemoryMetric`](raindrops::memory::MemoryMetric),
//! USS by default for forked workers), requests served and lifetime. Each worker draws its own
//! limits within the ranges ([`Limits`]), so workers started together do not all recycle at
//! once. A [`Recycler`] holds one worker's limits and counts its responses.
//!
//! # The layer
//!
//! [`KillerLayer`] counts responses once their body has been sent and runs the check then:
//! a recycle never cuts a response. Memory is read every `cycle` responses (16 by default);
//! a check never allocates.
//!
//! # Adapters
//!
//! What recycling does depends on who runs the worker; an [`Adapter`] is told once:
//!
//! * [`Signals`]: a prefork parent that understands signals (unicorn, puma, or your own pair),
//!   with escalation from a [`Watchdog`] thread: the graceful signal up to 10 times, the
//!   abrupt one up to 5 times, then `SIGKILL`, one step a second.
//! * [`Reexec`]: a single-process tokio server with no supervisor re-executes itself, handing
//!   its listening sockets to the new process (`LISTEN_FDS`), which serves before the old one
//!   drains.
//! * A supervisor that restarts workers on request implements [`Adapter`] by asking for the
//!   restart, and drives the escalation itself with an [`Escalator`].
//!
//! # Features
//!
//! Both on by default; without them (`default-features = false`) the crate is the policy, the
//! layer and the signal adapter, and builds no HTTP server:
//!
//! * `reexec`: [`Reexec`], served and drained by raindrops-http's server (hyper's).
//! * `prefork`: the [`prefork`] adapters for raindrops-prefork, and
//!   [`prefork::PreforkStats`], the stats wiring of a prefork HTTP server.
//!
//! The crate has no `unsafe` code: adopting inherited descriptors and placing them in a new
//! program is [`raindrops_prefork::activation`]'s.
//!
//! ```
//! use raindrops::memory::MemoryMetric;
//! use raindrops_killer::{KillerLayer, Policy, Recycler, Signals};
//!
//! let policy = Policy::new()
//!     .max_memory(MemoryMetric::Uss, 300 << 20..=400 << 20)
//!     .max_requests(50_000..=60_000);
//! let _layer = KillerLayer::new(Recycler::new(&policy, Signals::unicorn())?);
//! # Ok::<(), raindrops_killer::KillerError>(())
//! ```
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod escalation;
pub mod middleware;
mod policy;
#[cfg(feature = "prefork")]
pub mod prefork;
mod recycler;
#[cfg(feature = "reexec")]
pub mod reexec;
mod signals;

pub use escalation::{
    ABRUPT_TRIES, Escalation, Escalator, GRACEFUL_TRIES, INTERVAL, Step, Watchdog,
};
pub use middleware::{Killer, KillerLayer};
pub use policy::{DEFAULT_CYCLE, Limits, Policy, PolicyError, Reason};
pub use recycler::{Adapter, KillerError, Recycler, Trigger};
#[cfg(feature = "reexec")]
pub use reexec::Reexec;
pub use signals::Signals;
