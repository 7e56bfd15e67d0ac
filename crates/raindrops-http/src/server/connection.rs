//! Serving one HTTP/1.1 connection under the policy's timeouts, and refusing one beyond the cap.
//!
//! The timeouts are checked lazily: the request path only stores the connection's phase and
//! when it began in one atomic word (a response starting, a response body dropped); one timer
//! per connection wakes no later than any deadline the word could imply (the current one, or
//! the shorter timeout from now), reads the word, and either closes the connection or sleeps
//! again. No timer is touched per request, nothing is added per read or write.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http::header::{CONNECTION, HeaderValue};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;
use tower::util::Oneshot;
use tower::{Service, ServiceExt};

use super::activity::{Activity, Timeouts};
use super::admission::Admitted;

/// What hyper needs of an error type: any error boxed.
pub(super) type BoxError = Box<dyn StdError + Send + Sync>;

/// Declares a trait whose supertraits are `bounds` and implements it for every type meeting
/// them: a trait alias with its bounds written once.
macro_rules! trait_alias {
    ($(#[$doc:meta])* $vis:vis trait $name:ident$(<$($param:ident),*>)? = $($bounds:tt)+) => {
        $(#[$doc])*
        $vis trait $name$(<$($param),*>)?: $($bounds)+ {}

        impl<This $($(, $param)*)?> $name$(<$($param),*>)? for This where This: $($bounds)+ {}
    };
}

trait_alias! {
    /// A tower service a [`Server`](super::Server) can run on HTTP/1.1 connections, answering
    /// bodies of type `B`; implemented for every such service (an axum `Router`, a
    /// `ServiceBuilder` stack, a `service_fn`).
    pub trait HttpService<B> = Service<
            Request<Incoming>,
            Response = Response<B>,
            Error: Into<BoxError>,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
}

trait_alias! {
    /// A response body hyper can send; implemented for every such body.
    pub trait HttpBody = Body<Data: Send, Error: Into<BoxError>> + Send + 'static
}

/// The answer to a connection beyond the cap: written once, without waiting.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\
content-length: 27\r\nconnection: close\r\nretry-after: 1\r\n\r\nToo many connections, retry\n";

/// Refuses `io` without waiting for anything: discards what the client has sent so far (so
/// the close is a FIN, not a reset that could destroy the answer), writes [`BUSY`], shuts
/// the connection down; dropping `io` then closes it.
pub(super) fn refuse<I: AsyncRead + AsyncWrite + Unpin>(mut io: I) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut scratch = [0u8; 2048];
    for _ in 0..4 {
        let mut buf = ReadBuf::new(&mut scratch);
        match Pin::new(&mut io).poll_read(&mut cx, &mut buf) {
            Poll::Ready(Ok(())) if !buf.filled().is_empty() => {}
            _ => break,
        }
    }
    // A new connection's send buffer is empty: the write completes at once or not at all.
    let _ = Pin::new(&mut io).poll_write(&mut cx, BUSY);
    let _ = Pin::new(&mut io).poll_shutdown(&mut cx);
}

/// Draining: once `draining` is true and `settle` has passed, the connection is shut down
/// gracefully (see [`Server::graceful`](super::Server::graceful)).
#[derive(Debug, Clone)]
pub(super) struct Drain {
    pub(super) draining: watch::Receiver<bool>,
    pub(super) settle: Duration,
}

/// Serves HTTP/1.1 on `io` with `service` until the client closes, a timeout or an eviction
/// closes it, or a drain has finished it. Connection errors concern one client: logged at
/// `debug`.
pub(super) async fn serve<I, S, B>(
    io: I,
    service: S,
    admitted: Admitted,
    timeouts: Timeouts,
    drain: Option<Drain>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: HttpService<B>,
    B: HttpBody,
{
    let activity = Arc::clone(&admitted.activity);
    let closing = drain.as_ref().map(|drain| drain.draining.clone());
    let service = Tracking { inner: service, activity: Arc::clone(&activity), closing };
    let io = TokioIo::new(io);
    let conn = http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    let drained = async move {
        match drain {
            Some(Drain { mut draining, settle }) => {
                // An error means the sender is gone: the server is ending, drain too.
                let _ = draining.wait_for(|draining| *draining).await;
                tokio::time::sleep(settle).await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::pin!(drained);
    let mut shutting_down = false;
    // Any phase entered from now on ends no earlier than `now + shortest`: waking at the
    // current deadline or then, whichever is first, never misses one.
    let shortest = timeouts.header_read.min(timeouts.idle);
    let timer = tokio::time::sleep_until(activity.born() + shortest);
    tokio::pin!(timer);
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%err, "connection failed");
                }
                return;
            }
            () = timer.as_mut() => {
                let now = Instant::now();
                match activity.deadline(&timeouts) {
                    Some(deadline) if deadline <= now => {
                        tracing::debug!("connection timed out");
                        return;
                    }
                    Some(deadline) => timer.as_mut().reset(deadline.min(now + shortest)),
                    None => timer.as_mut().reset(now + shortest),
                }
            }
            () = activity.evicted() => {
                tracing::debug!("connection closed to make room");
                return;
            }
            () = drained.as_mut(), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The app as hyper calls it: each call marks the connection busy; each response body marks
/// it idle when dropped; while draining, each response says `Connection: close`.
#[derive(Debug)]
struct Tracking<S> {
    inner: S,
    activity: Arc<Activity>,
    closing: Option<watch::Receiver<bool>>,
}

impl<S, B> hyper::service::Service<Request<Incoming>> for Tracking<S>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.activity.busy();
        TrackedFuture {
            inner: self.inner.clone().oneshot(req),
            activity: Some(Arc::clone(&self.activity)),
            closing: self.closing.clone(),
        }
    }
}

pin_project! {
    /// The app's response future, its body wrapped in a [`TrackedBody`].
    struct TrackedFuture<S: Service<Request<Incoming>>> {
        #[pin]
        inner: Oneshot<S, Request<Incoming>>,
        activity: Option<Arc<Activity>>,
        closing: Option<watch::Receiver<bool>>,
    }
}

impl<S, B> Future for TrackedFuture<S>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
{
    type Output = Result<Response<TrackedBody<B>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        let mut response =
            response.map(|inner| TrackedBody { inner, activity: this.activity.take() });
        if this.closing.as_ref().is_some_and(|closing| *closing.borrow()) {
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        }
        Poll::Ready(Ok(response))
    }
}

pin_project! {
    /// A response body that marks its connection idle when dropped (sent, failed or abandoned).
    struct TrackedBody<B> {
        #[pin]
        inner: B,
        activity: Option<Arc<Activity>>,
    }

    impl<B> PinnedDrop for TrackedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(activity) = this.activity.as_ref() {
                activity.idle();
            }
        }
    }
}

impl<B: Body> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
