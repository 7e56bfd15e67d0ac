/*!
A tower layer that counts responses and checks the worker's limits once each response body
has been sent in full, so that recycling never cuts a response short.

The check runs when the body ends, fails, or is dropped (the client went away): the
[`Recycler`](crate::Recycler) counts the response, compares the request limit, and every
`cycle` responses reads the memory metric and the clock. The first limit reached calls the
[`Adapter`](crate::Adapter), which stops the worker gracefully outside the request path.

# Example

```
use http::{Request, Response};
use tower::{ServiceBuilder, service_fn};
use raindrops_killer::{KillerLayer, Policy, Recycler, Trigger};

let recycler = Recycler::new(&Policy::new().max_requests(10_000..=12_000), |t: &Trigger| {
    tracing::info!(pid = t.pid, reason = %t.reason, "recycling");
})?;
let _service = ServiceBuilder::new().layer(KillerLayer::new(recycler)).service(service_fn(
    |_: Request<String>| async { Ok::<_, std::convert::Infallible>(Response::new(String::new())) },
));
# Ok::<(), raindrops_killer::KillerError>(())
```
*/

mod body;
mod future;
mod layer;
mod service;

pub use body::KillerBody;
pub use future::ResponseFuture;
pub use layer::KillerLayer;
pub use service::Killer;

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http_body::{Body, Frame};
    use http_body_util::BodyExt;
    use tower::{ServiceBuilder, ServiceExt, service_fn};

    use crate::{KillerLayer, Limits, Recycler, Trigger};

    /// A body of three chunks, one per poll.
    struct Chunks(VecDeque<&'static str>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(Bytes::from(chunk)))))
        }
    }

    /// A service answering three chunks, behind a layer recycling at the first response;
    /// the count of adapter calls.
    fn app() -> (
        impl tower::Service<
            http::Request<()>,
            Response = http::Response<super::KillerBody<Chunks>>,
            Error = Infallible,
        > + Clone,
        Arc<AtomicU64>,
    ) {
        let calls = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&calls);
        let limits = Limits { requests: Some(1), ..Limits::default() };
        let adapter = move |_: &Trigger| {
            seen.fetch_add(1, Ordering::Relaxed);
        };
        let layer = KillerLayer::new(Recycler::with_limits(limits, adapter).unwrap());
        let service = ServiceBuilder::new().layer(layer).service(service_fn(|_| async {
            Ok::<_, Infallible>(http::Response::new(Chunks(VecDeque::from(["a", "b", "c"]))))
        }));
        (service, calls)
    }

    #[tokio::test]
    async fn the_check_runs_after_the_last_chunk_not_before() {
        let (app, calls) = app();
        let mut body = app.oneshot(http::Request::new(())).await.unwrap().into_body();
        for chunk in ["a", "b", "c"] {
            let frame = body.frame().await.unwrap().unwrap();
            assert_eq!(frame.into_data().unwrap(), chunk);
            assert_eq!(calls.load(Ordering::Relaxed), 0, "recycled before the body ended");
        }
        assert!(body.frame().await.is_none());
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        drop(body);
        assert_eq!(calls.load(Ordering::Relaxed), 1, "counted twice");
    }

    #[tokio::test]
    async fn a_body_dropped_half_way_still_counts() {
        let (app, calls) = app();
        let mut body = app.oneshot(http::Request::new(())).await.unwrap().into_body();
        body.frame().await.unwrap().unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 0);
        drop(body); // the client went away
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }
}
