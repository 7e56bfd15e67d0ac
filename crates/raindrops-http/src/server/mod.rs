/*!
One way to serve HTTP/1.1 for every server here (the Watcher, `raindrops serve`'s workers,
a re-executing server, the examples): [`Server`] applies a [`ConnectionPolicy`] to each
connection, so that no client, slow or many, can take the server's descriptors or its time.

* A client must send its first request head within the header-read timeout of connecting:
  slowloris connections are closed.
* A keep-alive connection that has not sent its next request head within the idle timeout of
  the previous response is closed; one whose response is still being sent (a stream such as
  the Watcher's `/tail`) is not idle.
* At most `max_connections` are served at once (the default sits below the open-file limit,
  so the process never runs out of descriptors). At the cap, a new connection takes the place
  of the one that has waited longest for a request head (a slow client, an idle keep-alive):
  whoever holds connections open without asking anything cannot lock others out. Only when
  every open connection is answering a request is a new one refused: answered a minimal 503
  and closed at once. Either way the listen queue keeps moving.
* Streaming endpoints take a slot of their own cap ([`StreamSlots`]) and answer 503 without.
* On a graceful stop ([`Server::graceful`]) no request fails: see [`Server::graceful`].

```no_run
use raindrops_http::server::{ConnectionPolicy, Server};

# async fn run() -> std::io::Result<()> {
let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello\n" }));
Server::new(ConnectionPolicy::default()).serve(listener, |_peer| app.clone()).await;
# Ok(())
# }
# let _ = run;
```
*/

mod activity;
mod admission;
mod connection;
mod policy;
mod streams;

use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use connection::{HttpBody, HttpService};
pub use policy::{
    ConnectionPolicy, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_STREAMS,
};
pub use streams::{StreamSlot, StreamSlots};

use activity::Timeouts;
use admission::Admission;
use connection::Drain;

/// How long a connection may take, once draining starts, to send a request already on its way
/// (1 s: far above a loopback or LAN round trip, short enough not to delay a stop).
pub const SETTLE: Duration = Duration::from_secs(1);

/// Serves HTTP/1.1 connections under a [`ConnectionPolicy`]; clones share one connection
/// count, so several listeners served by clones share the cap. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Server {
    policy: ConnectionPolicy,
    admission: Arc<Admission>,
    drain: Option<Drain>,
}

impl Server {
    /// A server applying `policy`, with no connection open.
    ///
    /// ```
    /// use raindrops_http::server::{ConnectionPolicy, Server};
    /// let server = Server::new(ConnectionPolicy::default());
    /// assert_eq!(server.open_connections(), 0);
    /// ```
    pub fn new(policy: ConnectionPolicy) -> Self {
        let admission = Arc::new(Admission::new(policy.max_connections));
        Server { policy, admission, drain: None }
    }

    /// Stops gracefully once `draining` turns true, failing no request: [`serve`](Self::serve)
    /// stops accepting (other processes sharing the socket take new connections), every
    /// further response says `Connection: close`, and each connection, after `settle` (time
    /// for a request already on its way to arrive; hyper alone would close an idle
    /// connection under a client about to reuse it), finishes its response and closes.
    ///
    /// ```
    /// use raindrops_http::server::{ConnectionPolicy, SETTLE, Server};
    /// let (_stop, draining) = tokio::sync::watch::channel(false);
    /// let _server = Server::new(ConnectionPolicy::default()).graceful(draining, SETTLE);
    /// ```
    pub fn graceful(mut self, draining: watch::Receiver<bool>, settle: Duration) -> Self {
        self.drain = Some(Drain { draining, settle });
        self
    }

    /// The policy applied.
    ///
    /// ```
    /// use raindrops_http::server::{ConnectionPolicy, Server};
    /// let policy = ConnectionPolicy { max_connections: 3, ..ConnectionPolicy::default() };
    /// assert_eq!(Server::new(policy).policy().max_connections, 3);
    /// ```
    pub fn policy(&self) -> &ConnectionPolicy {
        &self.policy
    }

    /// Connections being served now (refused ones are not counted).
    ///
    /// ```
    /// let server = raindrops_http::server::Server::new(Default::default());
    /// assert_eq!(server.open_connections(), 0);
    /// ```
    pub fn open_connections(&self) -> usize {
        self.admission.open()
    }

    /// Accepts on `listener` and serves each connection with the service `make` returns for
    /// its peer address, until draining (see [`graceful`](Self::graceful)) and every
    /// connection has finished; without `graceful`, forever. Accept errors do not stop it
    /// (axum's listeners log them and retry after a pause).
    ///
    /// `make` may put the peer in the requests, e.g.
    /// `|peer| axum::Extension(ConnectInfo(peer)).layer(app.clone())`.
    ///
    /// ```no_run
    /// use axum::extract::ConnectInfo;
    /// use raindrops_http::server::Server;
    /// use tower::Layer;
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    /// let app = axum::Router::new().route(
    ///     "/",
    ///     axum::routing::get(|ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>| async move {
    ///         format!("hello {peer}\n")
    ///     }),
    /// );
    /// Server::new(Default::default())
    ///     .serve(listener, |peer| axum::Extension(ConnectInfo(peer)).layer(app.clone()))
    ///     .await;
    /// # Ok(())
    /// # }
    /// # let _ = run;
    /// ```
    pub async fn serve<L, F, S, B>(self, mut listener: L, mut make: F)
    where
        L: Listener,
        F: FnMut(L::Addr) -> S,
        S: HttpService<B>,
        B: HttpBody,
    {
        let mut stop = self.drain.as_ref().map(|drain| drain.draining.clone());
        let stopping = async {
            match stop.as_mut() {
                // An error means the sender is gone: stop too.
                Some(stop) => drop(stop.wait_for(|draining| *draining).await),
                None => std::future::pending().await,
            }
        };
        tokio::pin!(stopping);
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                (io, addr) = listener.accept() => {
                    if let Some(served) = self.connection(io, make(addr)) {
                        connections.spawn(served);
                    }
                }
                () = stopping.as_mut() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        while connections.join_next().await.is_some() {}
    }

    /// Takes one accepted connection: the future that serves it with `service` (spawn it),
    /// or `None` when it was refused (answered 503 and closed). At the cap, the open
    /// connection that has waited longest for a request head is closed to make room; a
    /// connection is refused only when every open one is answering a request. For servers
    /// with an accept loop of their own.
    ///
    /// ```no_run
    /// use raindrops_http::server::Server;
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let server = Server::new(Default::default());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    /// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello\n" }));
    /// loop {
    ///     let (stream, _) = listener.accept().await?;
    ///     if let Some(served) = server.connection(stream, app.clone()) {
    ///         tokio::spawn(served);
    ///     }
    /// }
    /// # }
    /// # let _ = run;
    /// ```
    pub fn connection<I, S, B>(
        &self,
        io: I,
        service: S,
    ) -> Option<impl Future<Output = ()> + Send + 'static + use<I, S, B>>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService<B>,
        B: HttpBody,
    {
        let Some(admitted) = self.admission.admit() else {
            connection::refuse(io);
            return None;
        };
        let timeouts = Timeouts {
            header_read: self.policy.header_read_timeout,
            idle: self.policy.idle_timeout,
        };
        Some(connection::serve(io, service, admitted, timeouts, self.drain.clone()))
    }
}
