//! [`CountingListener`]: an axum listener that counts the connections it has accepted.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, UnixListener};

use super::ActiveCounter;

/// Wraps an axum [`Listener`] so each accepted connection counts in an [`ActiveCounter`] from
/// `accept` until the connection is dropped, and records how long it waited in the accept
/// queue ([`ActiveCounter::record_wait`]: one `getsockopt(TCP_INFO)` right after `accept`)
/// into its worker's row of [`ConnectionCounts::accept_waits`](super::ConnectionCounts::accept_waits).
///
/// Serve it with [`Server::serve`](crate::server::Server::serve), putting
/// `ConnectInfo(`[`Peer`]`)` in the requests so the middleware's endpoint knows who is asking
/// (with `axum::serve`: `into_make_service_with_connect_info::<Peer>()`).
///
/// ```no_run
/// use axum::Extension;
/// use axum::extract::ConnectInfo;
/// use raindrops_http::listeners::{ConnectionCounts, CountingListener, Peer};
/// use raindrops_http::server::Server;
/// use tower::Layer;
///
/// # async fn run() -> std::io::Result<()> {
/// let counts = ConnectionCounts::new(1, 1).map_err(std::io::Error::other)?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let listener = CountingListener::new(listener, counts.counter(0, 0));
/// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// Server::new(Default::default())
///     .serve(listener, |addr| Extension(ConnectInfo(Peer::Tcp(addr))).layer(app.clone()))
///     .await;
/// # Ok(())
/// # }
/// # let _ = run;
/// ```
#[derive(Debug)]
pub struct CountingListener<L> {
    inner: L,
    counter: ActiveCounter,
}

impl<L> CountingListener<L> {
    /// Counts `inner`'s connections in `counter`.
    ///
    /// ```
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let counts = raindrops_http::listeners::ConnectionCounts::new(1, 1)?;
    /// let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let _listener = raindrops_http::listeners::CountingListener::new(inner, counts.counter(0, 0));
    /// # Ok(())
    /// # }
    /// # let _ = run;
    /// ```
    pub fn new(inner: L, counter: ActiveCounter) -> Self {
        CountingListener { inner, counter }
    }

    /// The wrapped listener.
    ///
    /// ```
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// # let counts = raindrops_http::listeners::ConnectionCounts::new(1, 1)?;
    /// # let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let listener = raindrops_http::listeners::CountingListener::new(inner, counts.counter(0, 0));
    /// println!("{}", listener.get_ref().local_addr()?);
    /// # Ok(())
    /// # }
    /// # let _ = run;
    /// ```
    pub fn get_ref(&self) -> &L {
        &self.inner
    }
}

impl<L> Listener for CountingListener<L>
where
    L: Listener,
    L::Io: AsFd,
{
    type Io = Counted<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.inner.accept().await;
        self.counter.record_wait(&io);
        self.counter.enter();
        (Counted { io, counter: self.counter.clone() }, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

pin_project! {
    /// A connection accepted by a [`CountingListener`]: the stream itself, counted until it
    /// is dropped.
    #[derive(Debug)]
    pub struct Counted<I> {
        #[pin]
        io: I,
        counter: ActiveCounter,
    }

    impl<I> PinnedDrop for Counted<I> {
        fn drop(this: Pin<&mut Self>) {
            this.counter.leave();
        }
    }
}

impl<I> Counted<I> {
    /// The stream.
    pub fn get_ref(&self) -> &I {
        &self.io
    }
}

impl<I: AsyncRead> AsyncRead for Counted<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl<I: AsyncWrite> AsyncWrite for Counted<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The peer of a connection, as connect info: a TCP address, or a Unix peer (always on this
/// host, so the middleware treats it as loopback).
///
/// ```no_run
/// use axum::extract::ConnectInfo;
/// use raindrops_http::listeners::Peer;
///
/// async fn who(ConnectInfo(peer): ConnectInfo<Peer>) -> String {
///     match peer {
///         Peer::Tcp(addr) => addr.to_string(),
///         Peer::Unix => "a local process".to_owned(),
///     }
/// }
/// let _app: axum::Router = axum::Router::new().route("/who", axum::routing::get(who));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A TCP peer.
    Tcp(SocketAddr),
    /// A process on this host, over a Unix socket.
    Unix,
}

impl Connected<IncomingStream<'_, CountingListener<TcpListener>>> for Peer {
    fn connect_info(stream: IncomingStream<'_, CountingListener<TcpListener>>) -> Self {
        Peer::Tcp(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, CountingListener<UnixListener>>> for Peer {
    fn connect_info(_: IncomingStream<'_, CountingListener<UnixListener>>) -> Self {
        Peer::Unix
    }
}
