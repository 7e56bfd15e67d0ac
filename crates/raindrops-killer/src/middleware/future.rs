use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use super::body::{KillerBody, Sent};
use crate::Recycler;

pin_project! {
    /// The response future of [`Killer`](super::Killer): hands the recycler to the body.
    pub struct ResponseFuture<F> {
        #[pin]
        future: F,
        recycler: Option<Arc<Recycler>>,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(future: F, recycler: Arc<Recycler>) -> Self {
        ResponseFuture { future, recycler: Some(recycler) }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<KillerBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.future.poll(cx));
        // Taken once (a future polled again after completion has nothing to hand over). On
        // an error, dropping `sent` here counts the failed request at once.
        let sent = this.recycler.take().map(Sent);
        Poll::Ready(result.map(|response| response.map(|body| KillerBody::new(body, sent))))
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
