//! Serving one HTTP/1.1 connection so that a graceful stop fails no request.
//!
//! hyper's `graceful_shutdown` closes a connection at once when no request is in progress on
//! it: a connection accepted a moment ago whose request is still on its way, or a keep-alive
//! connection whose client is about to reuse it, is closed under the client, which sees its
//! request fail. [`serve_connection`] instead, once `draining` turns true:
//!
//! 1. marks every further response `Connection: close`, so a busy connection ends cleanly
//!    after its next response;
//! 2. waits `settle`, so a connection with a request on its way has time to send it;
//! 3. only then calls `graceful_shutdown`: the response in progress, if any, is finished and
//!    the connection closed.
//!
//! Both [`Reexec`](crate::Reexec) and a prefork worker's graceful stop use it.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use raindrops_killer::drain::serve_connection;
//! use tower::service_fn;
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (stop, draining) = tokio::sync::watch::channel(false);
//! let app = service_fn(|_: http::Request<hyper::body::Incoming>| async {
//!     Ok::<_, Infallible>(http::Response::new(String::from("hello\n")))
//! });
//! let (stream, _) = listener.accept().await?;
//! let served = tokio::spawn(serve_connection(stream, app, draining, Duration::from_secs(1)));
//! stop.send_replace(true); // e.g. on SIGQUIT
//! served.await?;
//! # Ok(()) }
//! # let _ = run;
//! ```

use std::error::Error as StdError;
use std::time::Duration;

use http::header::{CONNECTION, HeaderValue};
use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tower::{Service, ServiceExt};

/// How long a connection may take, once draining starts, to send a request already on its way
/// (1 s: far above a loopback or LAN round trip, short enough not to delay a stop).
pub const SETTLE: Duration = Duration::from_secs(1);

/// What hyper needs of an errors' type: any error boxed.
type BoxError = Box<dyn StdError + Send + Sync>;

/// A tower service that [`serve_connection`] (and [`Reexec::serve`](crate::Reexec::serve))
/// can run on HTTP/1.1 connections, answering bodies of type `B`; implemented for every such
/// service (an axum `Router`, a `ServiceBuilder` stack, a `service_fn`).
pub trait HttpService<B>:
    Service<
        Request<Incoming>,
        Response = Response<B>,
        Error: Into<BoxError>,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S, B> HttpService<B> for S where
    S: Service<
            Request<Incoming>,
            Response = Response<B>,
            Error: Into<BoxError>,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

/// A response body hyper can send; implemented for every such body.
pub trait HttpBody: Body<Data: Send, Error: Into<BoxError>> + Send + 'static {}

impl<B: Body<Data: Send, Error: Into<BoxError>> + Send + 'static> HttpBody for B {}

/// Serves HTTP/1.1 on `io` with `service` until the client closes, or until `draining` is
/// true, `settle` has passed, and the response in progress is sent; see the
/// [module docs](self). Connection errors are logged (`debug`), not returned: they concern
/// one client.
pub async fn serve_connection<I, S, B>(
    io: I,
    service: S,
    mut draining: watch::Receiver<bool>,
    settle: Duration,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: HttpService<B>,
    B: HttpBody,
{
    let closing = draining.clone();
    let service = service.map_response(move |mut response: Response<B>| {
        if *closing.borrow() {
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    tokio::pin!(conn);
    let drained = async {
        // An error means the sender is gone: the server is ending, drain too.
        let _ = draining.wait_for(|draining| *draining).await;
        tokio::time::sleep(settle).await;
    };
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(%err, "connection failed");
            }
            return;
        }
        () = drained => {}
    }
    conn.as_mut().graceful_shutdown();
    if let Err(err) = conn.await {
        tracing::debug!(%err, "connection failed while draining");
    }
}
