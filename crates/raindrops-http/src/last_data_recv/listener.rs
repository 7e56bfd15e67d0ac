//! [`RecordingListener`]: accepts like the listener it wraps and records each connection's
//! `tcpi_last_data_recv`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use raindrops::{Recorder, TcpInfo};

use crate::listeners::Peer;

/// A TCP listener with `TCP_DEFER_ACCEPT` set that records, for each connection it accepts,
/// `tcpi_last_data_recv` in milliseconds (how long the connection's first data waited in the
/// accept queue) into a [`raindrops::SharedAggregate`] row.
///
/// It wraps a std [`TcpListener`](std::net::TcpListener) (blocking [`accept`](Self::accept)), a
/// tokio [`TcpListener`](tokio::net::TcpListener) ([`accept_async`](Self::accept_async)), or any
/// axum [`Listener`] of TCP streams, so [`Server::serve`](crate::server::Server::serve) (or
/// `axum::serve`) takes it; the peer address is given to `serve`'s service maker (with
/// `axum::serve`: `into_make_service_with_connect_info::<`[`Peer`]`>()`). Make one with
/// [`LastDataRecv::listener`](super::LastDataRecv::listener) or [`RecordingListener::new`].
///
/// ```no_run
/// use raindrops_http::last_data_recv::LastDataRecv;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let stats = LastDataRecv::new(1)?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let listener = stats.listener(listener, 0)?;
/// let app = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "hello" }))
///     .route_service("/_last_data_recv", stats.service());
/// raindrops_http::server::Server::new(Default::default()).serve(listener, |_| app.clone()).await;
/// # Ok(())
/// # }
/// # let _ = run;
/// ```
#[derive(Debug)]
pub struct RecordingListener<L> {
    inner: L,
    recorder: Recorder,
    waits: Option<Recorder>,
}

impl<L: AsFd> RecordingListener<L> {
    /// Sets `TCP_DEFER_ACCEPT` to `defer_accept` on `inner` and records into `recorder`.
    ///
    /// # Errors
    ///
    /// When `inner` is not a TCP socket, or off Linux.
    ///
    /// ```
    /// use std::time::Duration;
    /// use raindrops_http::last_data_recv::RecordingListener;
    ///
    /// let aggregate = raindrops::SharedAggregate::new(1)?;
    /// let inner = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let listener = RecordingListener::new(inner, aggregate.recorder(0), Duration::from_secs(2))?;
    /// assert_eq!(raindrops::defer_accept(listener.get_ref())?, Duration::from_secs(3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(inner: L, recorder: Recorder, defer_accept: Duration) -> io::Result<Self> {
        raindrops::set_defer_accept(&inner, defer_accept)?;
        Ok(RecordingListener { inner, recorder, waits: None })
    }
}

impl<L> RecordingListener<L> {
    /// Also records each accepted connection's whole time in the accept queue
    /// ([`accept_wait`](crate::listeners::accept_wait): since the kernel made the connection,
    /// which under `TCP_DEFER_ACCEPT` is when its first data came) into `waits`, from the same
    /// `TCP_INFO` read.
    ///
    /// ```
    /// let stats = raindrops_http::last_data_recv::LastDataRecv::new(1)?;
    /// let waits = raindrops::SharedAggregate::new(1)?;
    /// let listener = stats.listener(std::net::TcpListener::bind("127.0.0.1:0")?, 0)?
    ///     .accept_waits(waits.recorder(0));
    /// # let _ = listener;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn accept_waits(mut self, waits: Recorder) -> Self {
        self.waits = Some(waits);
        self
    }

    /// The wrapped listener.
    ///
    /// ```
    /// # let aggregate = raindrops::SharedAggregate::new(1)?;
    /// # let inner = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let d = std::time::Duration::from_secs(1);
    /// let listener = raindrops_http::last_data_recv::RecordingListener::new(inner, aggregate.recorder(0), d)?;
    /// println!("{}", listener.get_ref().local_addr()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_ref(&self) -> &L {
        &self.inner
    }

    /// The wrapped listener, no longer recording (`TCP_DEFER_ACCEPT` stays set).
    ///
    /// ```
    /// # let aggregate = raindrops::SharedAggregate::new(1)?;
    /// # let inner = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let d = std::time::Duration::from_secs(1);
    /// let listener = raindrops_http::last_data_recv::RecordingListener::new(inner, aggregate.recorder(0), d)?;
    /// let _inner: std::net::TcpListener = listener.into_inner();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_inner(self) -> L {
        self.inner
    }

    /// Records `stream`'s `tcpi_last_data_recv` (and its wait, when asked); a stream whose
    /// `TCP_INFO` cannot be read (it is not TCP) is not recorded, and its accept still
    /// succeeds.
    fn record(&self, stream: &impl AsFd) {
        if let Ok(info) = TcpInfo::from_socket(stream) {
            self.recorder.record(i64::from(info.last_data_recv));
            if let Some(waits) = &self.waits {
                waits.record(i64::from(crate::listeners::accept_wait::from_info(&info)));
            }
        }
    }
}

impl RecordingListener<std::net::TcpListener> {
    /// Accepts a connection (blocking, like [`std::net::TcpListener::accept`]) and records it.
    ///
    /// # Errors
    ///
    /// Those of `accept(2)`.
    ///
    /// ```no_run
    /// # let aggregate = raindrops::SharedAggregate::new(1)?;
    /// # let inner = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let d = std::time::Duration::from_secs(60);
    /// let listener = raindrops_http::last_data_recv::RecordingListener::new(inner, aggregate.recorder(0), d)?;
    /// let (_stream, peer) = listener.accept()?;
    /// println!("{peer}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accept(&self) -> io::Result<(std::net::TcpStream, SocketAddr)> {
        let (stream, addr) = self.inner.accept()?;
        self.record(&stream);
        Ok((stream, addr))
    }
}

impl RecordingListener<tokio::net::TcpListener> {
    /// Accepts a connection (like [`tokio::net::TcpListener::accept`]) and records it.
    ///
    /// # Errors
    ///
    /// Those of `accept(2)`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// # let aggregate = raindrops::SharedAggregate::new(1)?;
    /// # let d = std::time::Duration::from_secs(60);
    /// let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let listener = raindrops_http::last_data_recv::RecordingListener::new(inner, aggregate.recorder(0), d)?;
    /// let (_stream, peer) = listener.accept_async().await?;
    /// println!("{peer}");
    /// # Ok(())
    /// # }
    /// # let _ = run;
    /// ```
    pub async fn accept_async(&self) -> io::Result<(tokio::net::TcpStream, SocketAddr)> {
        let (stream, addr) = self.inner.accept().await?;
        self.record(&stream);
        Ok((stream, addr))
    }
}

impl<L> Listener for RecordingListener<L>
where
    L: Listener,
    L::Io: AsFd,
{
    type Io = L::Io;
    type Addr = L::Addr;

    /// The inner listener's accept (axum's, which retries after errors), then records.
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.inner.accept().await;
        self.record(&io);
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl Connected<IncomingStream<'_, RecordingListener<tokio::net::TcpListener>>> for Peer {
    fn connect_info(
        stream: IncomingStream<'_, RecordingListener<tokio::net::TcpListener>>,
    ) -> Self {
        Peer::Tcp(*stream.remote_addr())
    }
}
