//! Listeners this process owns, counted as it accepts: the O(1) path for the middleware's
//! listener numbers.
//!
//! The kernel path ([`KernelListeners`](crate::listeners::KernelListeners)) asks sock_diag, which
//! walks the established-connection hash: fine once a second, costly on every stats request of
//! a busy host. For listeners the server itself accepts on, both numbers are cheaper:
//!
//! - **active**: [`CountingListener`] wraps an axum [`Listener`](axum::serve::Listener); each
//!   accepted connection counts in a shared-memory slot of its worker's row
//!   ([`ConnectionCounts`]) from `accept` until it is dropped. Rows are summed on read, so the
//!   numbers are exact across forked workers, and [`ConnectionCounts::retire`] zeroes a dead
//!   worker's share.
//! - **queued**: `getsockopt(TCP_INFO)` on the listening socket
//!   ([`raindrops::local_queue`]), one syscall at any connection count. Unix listeners have no
//!   such call; their queue comes from one `unix_diag` query.
//!
//! [`OwnedListeners`] puts both together as the middleware's
//! [`Listeners`](crate::middleware::Listeners). At quiescence (idle keep-alive connections, no
//! connection mid-handshake or mid-close) it reports exactly what the kernel path reports.
//!
//! ```no_run
//! use axum::Extension;
//! use axum::extract::ConnectInfo;
//! use raindrops_http::listeners::{ConnectionCounts, CountingListener, OwnedListeners, Peer};
//! use raindrops_http::middleware::RaindropsLayer;
//! use raindrops_http::server::Server;
//! use tower::Layer;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let counts = ConnectionCounts::new(1, 1)?; // 1 worker, 1 listener
//! let owned = OwnedListeners::new(counts.clone()).tcp(&listener)?;
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "hello" }))
//!     .layer(RaindropsLayer::new()?.listeners(owned));
//! let listener = CountingListener::new(listener, counts.counter(0, 0));
//! Server::new(Default::default())
//!     .serve(listener, |addr| Extension(ConnectInfo(Peer::Tcp(addr))).layer(app.clone()))
//!     .await;
//! # Ok(())
//! # }
//! # let _ = run;
//! ```

mod counting;
mod counts;
mod kernel;
mod owned;

pub use counting::{Counted, CountingListener, Peer};
pub use counts::{ActiveCounter, ConnectionCounts};
pub use kernel::KernelListeners;
pub use owned::OwnedListeners;
