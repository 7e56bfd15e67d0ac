//! Where listener numbers (active and queued connections per listener) come from, for the
//! middleware's endpoint and the Watcher.
//!
//! - [`Listeners`]: the trait every source implements, asked once per stats request; an
//!   `Arc` of a source is one too, so one source can feed the middleware and a Watcher.
//! - [`KernelListeners`]: asks the kernel over sock_diag about any listener of any process.
//!   The kernel walks its established-connection hash for each query: fine once a second,
//!   costly on every stats request of a busy host.
//! - [`OwnedListeners`]: the O(1) source for listeners this server accepts on itself:
//!   - **active**: [`CountingListener`] wraps an axum [`Listener`](axum::serve::Listener);
//!     each accepted connection counts in a shared-memory slot of its worker's row
//!     ([`ConnectionCounts`]) from `accept` until it is dropped. Rows are summed on read, so
//!     the numbers are exact across forked workers, and [`ConnectionCounts::retire`] zeroes a
//!     dead worker's share.
//!   - **queued**: `getsockopt(TCP_INFO)` on the listening socket
//!     ([`raindrops::local_queue`]), one syscall at any connection count. Unix listeners have
//!     no such call; their queue comes from one `unix_diag` query.
//!
//!   - **accept waits**: [`CountingListener`] also records how long each connection it
//!     accepts waited in the accept queue ([`accept_wait`]), exactly, into a
//!     [`SharedAggregate`](raindrops::SharedAggregate) row of its worker
//!     ([`ConnectionCounts::accept_waits`]).
//!
//!   At quiescence (idle keep-alive connections, no connection mid-handshake or mid-close) it
//!   reports exactly what [`KernelListeners`] reports.
//!
//! ```no_run
//! use axum::Extension;
//! use axum::extract::ConnectInfo;
//! use raindrops_http::listeners::{ConnectionCounts, CountingListener, OwnedListeners, Peer};
//! use raindrops_http::middleware::{HttpStats, RaindropsLayer};
//! use raindrops_http::server::Server;
//! use tower::Layer;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let counts = ConnectionCounts::new(1, 1)?; // 1 worker, 1 listener
//! let owned = OwnedListeners::new(counts.clone()).tcp(&listener)?;
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "hello" }))
//!     .layer(RaindropsLayer::new(HttpStats::per_cpu()?).listeners(owned));
//! let listener = CountingListener::new(listener, counts.counter(0, 0));
//! Server::new(Default::default())
//!     .serve(listener, |addr| Extension(ConnectInfo(Peer::Tcp(addr))).layer(app.clone()))
//!     .await;
//! # Ok(())
//! # }
//! # let _ = run;
//! ```

pub mod accept_wait;
mod counting;
mod counts;
mod kernel;
mod owned;
mod source;

pub use counting::{Counted, CountingListener, Peer};
pub use counts::{ActiveCounter, ConnectionCounts};
pub use kernel::KernelListeners;
pub use owned::OwnedListeners;
pub use source::Listeners;
