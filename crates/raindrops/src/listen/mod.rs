//! Listen-queue stats of any listening socket on the host (Linux).
//!
//! For a TCP listener address, **active** counts accepted connections still `ESTABLISHED` on
//! that local address and port, and **queued** the connections waiting for `accept()`, summed
//! over every `SO_REUSEPORT` socket bound there. For a Unix socket path, queued is the
//! listener's receive queue and active the connected sockets bound to the same path.
//!
//! [`SockDiag`] (`sock_diag.rs`) holds one `NETLINK_SOCK_DIAG` socket and answers every form
//! of query, TCP (`inet_diag.rs`) and Unix (`unix_diag.rs`): one address, many, all
//! listeners, and a queued-only variant that spares the kernel the walk of the
//! established-connections hash. All TCP forms apply the same rule (see `inet_diag.rs`), so
//! they return the same numbers for the same address. [`local_queue`] gives a listener this
//! process owns its queue in one `getsockopt` call.
//!
//! **Queue wait**: [`SockDiag::tcp_waits`], [`SockDiag::waits`] and [`SockDiag::tcp_all_waits`]
//! add to the stats' dump exact lookups of the connections it saw waiting in each listener's
//! accept queue (their `tcp_info`, many requests to a datagram), and return their ages as a
//! [`QueueWait`] (whose docs say which `tcp_info` field, its resolution, and how its
//! count compares with *queued*).
//!
//! # Example
//!
//! ```no_run
//! use raindrops::{SockDiag, ListenerAddr};
//!
//! let mut diag = SockDiag::new()?;
//! let stats = diag.tcp_stats("0.0.0.0:8080".parse().unwrap())?;
//! println!("active={} queued={}", stats.active, stats.queued);
//!
//! let addrs: Vec<ListenerAddr> = vec!["[::]:443".parse()?, "/run/app.sock".parse()?];
//! for (addr, stats) in addrs.iter().zip(diag.stats(&addrs)?) {
//!     println!("{addr} {} {}", stats.active, stats.queued);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod addr;
#[cfg(test)]
mod diag_replies;
mod inet_diag;
mod local;
mod name;
mod netlink;
mod queue_wait;
#[cfg(test)]
mod queue_wait_tests;
mod sock_diag;
mod unix_diag;

use std::io;

pub use addr::{AddrErrorKind, AddrParseError, ListenerAddr};
pub use local::{LocalQueue, local_queue};
pub use name::ListenerName;
pub use queue_wait::QueueWait;
pub use sock_diag::SockDiag;
pub use unix_diag::UnixSource;

/// The numbers for one listener.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ListenStats {
    /// Accepted connections still established (TCP), or connected sockets bound to the path
    /// (Unix).
    pub active: u32,
    /// Connections waiting for `accept()`.
    pub queued: u32,
}

/// Why a listener-stats query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListenError {
    /// The netlink socket could not be opened.
    #[error(
        "netlink sock_diag is unavailable: {source} (load the sock_diag, inet_diag, tcp_diag and \
         unix_diag kernel modules, e.g. `modprobe tcp_diag`; containers may block AF_NETLINK \
         with seccomp or a restricted network namespace)"
    )]
    Unavailable {
        /// The error from `socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG)`.
        #[source]
        source: io::Error,
    },
    /// The kernel refused a request.
    #[error(
        "the kernel refused the sock_diag request for {request}: {source} (ENOENT means no \
         handler: load the {} kernel module; EPERM/EACCES: the container or LSM forbids \
         sock_diag)",
        module_for(request)
    )]
    Kernel {
        /// What was asked: "TCP over IPv4", "TCP over IPv6", "Unix sockets".
        request: &'static str,
        /// The errno the kernel answered.
        #[source]
        source: io::Error,
    },
    /// Sending or receiving on the netlink socket, or `getsockopt`, failed.
    #[error("sock_diag I/O failed: {0}")]
    Io(#[source] io::Error),
    /// A reply did not have the layout this crate knows.
    #[error("malformed sock_diag reply: {what} (please report this with your kernel version)")]
    Malformed {
        /// Which part was wrong.
        what: &'static str,
    },
    /// The `/proc/net/unix` fallback could not be read.
    #[error("cannot read {path}: {source} (is /proc mounted?)")]
    Procfs {
        /// The file.
        path: &'static str,
        /// The error reading it.
        #[source]
        source: io::Error,
    },
    /// [`local_queue`] was given a TCP socket that is not listening.
    #[error("the socket is not a TCP listener (tcp state {state}); call listen() first")]
    NotListening {
        /// The socket's TCP state (`tcpi_state`).
        state: u8,
    },
}

fn module_for(request: &str) -> &'static str {
    if request.starts_with("Unix") { "unix_diag" } else { "inet_diag and tcp_diag" }
}
