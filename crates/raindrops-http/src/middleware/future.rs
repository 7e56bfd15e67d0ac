use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::Response;
use pin_project_lite::pin_project;

use super::body::ResponseBody;
use super::stats::{GaugeGuard, HttpStats};

pin_project! {
    /// The response future of [`Raindrops`](super::Raindrops): the inner future, counted in
    /// `calling` until it completes or is dropped; or a ready stats response.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Stats { response: Option<Response<Bytes>> },
        Inner { #[pin] future: F, guard: Option<GaugeGuard> },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn stats(response: Response<Bytes>) -> Self {
        ResponseFuture { state: State::Stats { response: Some(response) } }
    }

    pub(super) fn inner(future: F, guard: GaugeGuard) -> Self {
        ResponseFuture { state: State::Inner { future, guard: Some(guard) } }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Stats { response } => {
                // Polled again after completion: answer an empty stats body.
                let response = response.take().unwrap_or_default();
                Poll::Ready(Ok(response.map(ResponseBody::stats)))
            }
            StateProj::Inner { future, guard } => {
                let result = ready!(future.poll(cx));
                // The writing guard goes up before calling goes down, as in Ruby raindrops.
                let result = result.map(|response| match guard.take() {
                    Some(calling) => {
                        let writing = calling.switch(HttpStats::writing);
                        response.map(|body| ResponseBody::counted(body, writing))
                    }
                    None => response.map(ResponseBody::uncounted),
                });
                // After an error the guard is still here: calling goes down now.
                guard.take();
                Poll::Ready(result)
            }
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
