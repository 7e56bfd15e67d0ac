//! The middleware's gauges step by step, in tower-http's style: one service driven by hand
//! (`ready`, `call`, the response future, the body) or by `oneshot`, the gauges read after
//! each step. Panics run in a spawned task, whose `JoinHandle` reports them; tokio drops the
//! task's future while unwinding, so the guards' `Drop` is what brings the gauges back.
//! The end-to-end tests (a real server and client) are in `tests/middleware.rs`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt, service_fn};

use super::{HttpStats, RaindropsLayer};

/// One poll of a [`Script`] body.
#[derive(Clone, Copy, Debug)]
enum Step {
    Data(&'static str),
    Fail,
    Panic,
}

/// A response body that answers its polls from a list of steps, then ends.
#[derive(Debug)]
struct Script(VecDeque<Step>);

impl Script {
    fn new(steps: &[Step]) -> Self {
        Script(steps.iter().copied().collect())
    }
}

impl Body for Script {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(match self.0.pop_front() {
            None => None,
            Some(Step::Data(data)) => Some(Ok(Frame::data(Bytes::from_static(data.as_bytes())))),
            Some(Step::Fail) => Some(Err(io::Error::other("the body fails on purpose"))),
            Some(Step::Panic) => panic!("the body panics on purpose"),
        })
    }
}

/// A layer of its own anonymous segment, so each test reads only its own requests.
fn layer() -> RaindropsLayer {
    RaindropsLayer::new(HttpStats::per_cpu().expect("an anonymous segment"))
}

/// `(calling, writing, requests)` summed over the layer's rows.
fn gauges(layer: &RaindropsLayer) -> (u64, u64, u64) {
    let sum = layer.workers().sum();
    (sum.calling, sum.writing, sum.requests)
}

/// An app answering every request with a body playing `steps`.
fn app(
    steps: &'static [Step],
) -> impl Service<
    Request<()>,
    Response = Response<Script>,
    Error = io::Error,
    Future = impl Future<Output = io::Result<Response<Script>>> + Send,
> + Clone
+ Send {
    service_fn(move |_: Request<()>| async move { Ok(Response::new(Script::new(steps))) })
}

#[tokio::test]
async fn gauges_after_poll_ready_call_response_body_end_and_drop() {
    let layer = layer();
    let mut service = layer.layer(app(&[Step::Data("hello"), Step::Data("world")]));
    assert_eq!(gauges(&layer), (0, 0, 0));

    // Getting ready counts nothing: no request yet.
    service.ready().await.unwrap();
    assert_eq!(gauges(&layer), (0, 0, 0));

    // The call counts the request as calling before the future is polled.
    let mut future = pin!(service.call(Request::new(())));
    assert_eq!(gauges(&layer), (1, 0, 1));

    // The response moves it to writing, while the future is still alive.
    let response = poll_fn(|cx| future.as_mut().poll(cx)).await.unwrap();
    assert_eq!(gauges(&layer), (0, 1, 1));

    // Still writing between frames.
    let mut body = response.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "hello");
    assert_eq!(gauges(&layer), (0, 1, 1));
    body.frame().await.unwrap().unwrap();
    assert_eq!(gauges(&layer), (0, 1, 1));

    // The end of the body ends writing, before the body is dropped.
    assert!(body.frame().await.is_none());
    assert_eq!(gauges(&layer), (0, 0, 1));
    drop(body);
    assert_eq!(gauges(&layer), (0, 0, 1));
}

#[tokio::test]
async fn a_body_dropped_before_its_end_ends_writing() {
    let layer = layer();
    let service = layer.layer(app(&[Step::Data("hello"), Step::Data("never read")]));
    let mut body = service.oneshot(Request::new(())).await.unwrap().into_body();
    body.frame().await.unwrap().unwrap();
    assert_eq!(gauges(&layer), (0, 1, 1));
    drop(body);
    assert_eq!(gauges(&layer), (0, 0, 1));
}

#[tokio::test]
async fn a_failing_body_ends_writing_at_its_error() {
    let layer = layer();
    let service = layer.layer(app(&[Step::Data("hello"), Step::Fail]));
    let mut body = service.oneshot(Request::new(())).await.unwrap().into_body();
    body.frame().await.unwrap().unwrap();
    assert_eq!(gauges(&layer), (0, 1, 1));
    assert!(body.frame().await.unwrap().is_err());
    // The body still exists; the error alone ended writing.
    assert_eq!(gauges(&layer), (0, 0, 1));
}

#[tokio::test]
async fn a_failing_inner_service_ends_calling_at_its_error() {
    let layer = layer();
    let mut service = layer.layer(service_fn(|_: Request<()>| async {
        Err::<Response<Script>, _>(io::Error::other("the app fails on purpose"))
    }));
    service.ready().await.unwrap();
    let mut future = pin!(service.call(Request::new(())));
    assert_eq!(gauges(&layer), (1, 0, 1));
    assert!(poll_fn(|cx| future.as_mut().poll(cx)).await.is_err());
    // The future still exists; the error alone ended calling.
    assert_eq!(gauges(&layer), (0, 0, 1));
}

#[tokio::test]
async fn a_future_dropped_before_or_after_its_first_poll_ends_calling() {
    let layer = layer();
    let mut service = layer.layer(service_fn(|_: Request<()>| {
        std::future::pending::<Result<Response<Script>, Infallible>>()
    }));

    // Dropped unpolled (a caller that gave up at once).
    service.ready().await.unwrap();
    let future = service.call(Request::new(()));
    assert_eq!(gauges(&layer), (1, 0, 1));
    drop(future);
    assert_eq!(gauges(&layer), (0, 0, 1));

    // Dropped while the inner future is pending (a timeout, a client gone).
    service.ready().await.unwrap();
    let mut future = Box::pin(service.call(Request::new(())));
    assert!(poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await.is_pending());
    assert_eq!(gauges(&layer), (1, 0, 2));
    drop(future);
    assert_eq!(gauges(&layer), (0, 0, 2));
}

#[tokio::test]
async fn a_panic_in_the_inner_call_leaves_calling_at_zero() {
    let layer = layer();
    let service = layer.layer(service_fn(|_: Request<()>| -> std::future::Ready<_> {
        if std::hint::black_box(true) {
            panic!("the app's call panics on purpose");
        }
        std::future::ready(Ok::<_, Infallible>(Response::new(Script::new(&[]))))
    }));
    let task = tokio::spawn(service.oneshot(Request::new(())));
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(gauges(&layer), (0, 0, 1));
}

#[tokio::test]
async fn a_panic_in_the_inner_future_leaves_calling_at_zero() {
    let layer = layer();
    let service = layer.layer(service_fn(|_: Request<()>| async {
        if std::hint::black_box(true) {
            panic!("the app's future panics on purpose");
        }
        Ok::<_, Infallible>(Response::new(Script::new(&[])))
    }));
    let task = tokio::spawn(service.oneshot(Request::new(())));
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(gauges(&layer), (0, 0, 1));
}

#[tokio::test]
async fn a_panic_in_the_body_leaves_writing_at_zero() {
    let layer = layer();
    let service = layer.layer(app(&[Step::Data("hello"), Step::Panic]));
    let response = service.oneshot(Request::new(())).await.unwrap();
    assert_eq!(gauges(&layer), (0, 1, 1));
    let task = tokio::spawn(response.into_body().collect());
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(gauges(&layer), (0, 0, 1));
}

#[tokio::test]
async fn the_endpoint_sees_a_request_in_flight_and_is_not_counted() {
    let layer = layer();
    let mut app = layer.layer(service_fn(|req: Request<()>| async move {
        let body = match req.uri().path() {
            "/_raindrops" => unreachable!("the layer answers its endpoint"),
            _ => Script::new(&[Step::Data("app")]),
        };
        Ok::<_, Infallible>(Response::new(body))
    }));
    let in_flight = app.ready().await.unwrap().call(Request::new(()));
    assert_eq!(gauges(&layer), (1, 0, 1));

    let mut stats = Request::get("/_raindrops").body(()).unwrap();
    let peer: SocketAddr = "127.0.0.1:1234".parse().unwrap();
    stats.extensions_mut().insert(ConnectInfo(peer));
    let response = app.ready().await.unwrap().call(stats).await.unwrap();
    assert_eq!(gauges(&layer), (1, 0, 1), "the stats request is neither calling nor counted");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "calling: 1\nwriting: 0\n");
    assert_eq!(gauges(&layer), (1, 0, 1));

    drop(in_flight);
    assert_eq!(gauges(&layer), (0, 0, 1));
}
