use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::Recycler;

/// Tells the recycler a response is over when dropped.
#[derive(Debug)]
pub(super) struct Sent(pub(super) Arc<Recycler>);

impl Drop for Sent {
    fn drop(&mut self) {
        self.0.response_sent();
    }
}

pin_project! {
    /// The response body of [`Killer`](super::Killer): the app's body, followed by the
    /// worker's check once it has ended, failed or been dropped.
    pub struct KillerBody<B> {
        #[pin]
        body: B,
        sent: Option<Sent>,
    }
}

impl<B> KillerBody<B> {
    pub(super) fn new(body: B, sent: Option<Sent>) -> Self {
        KillerBody { body, sent }
    }
}

impl<B: Body> Body for KillerBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = this.body.poll_frame(cx);
        if let Poll::Ready(None | Some(Err(_))) = frame {
            // The last frame is out (or the body failed): check now, not when hyper drops us.
            drop(this.sent.take());
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl<B> std::fmt::Debug for KillerBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KillerBody").field("pending", &self.sent.is_some()).finish_non_exhaustive()
    }
}
