use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::stats::GaugeGuard;

pin_project! {
    /// The response body of [`Raindrops`](super::Raindrops): the app's body, counted in
    /// `writing` until it ends, fails or is dropped; or a stats body.
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
        guard: Option<GaugeGuard>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Stats { data: Option<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    pub(super) fn counted(body: B, guard: GaugeGuard) -> Self {
        ResponseBody { kind: Kind::Inner { body }, guard: Some(guard) }
    }

    pub(super) fn uncounted(body: B) -> Self {
        ResponseBody { kind: Kind::Inner { body }, guard: None }
    }

    pub(super) fn stats(data: Bytes) -> Self {
        ResponseBody {
            kind: Kind::Stats { data: Some(data).filter(|d| !d.is_empty()) },
            guard: None,
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body,
    B::Data: From<Bytes>,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        match this.kind.project() {
            KindProj::Inner { body } => {
                let frame = body.poll_frame(cx);
                // The end of the body, or an error ending it: no longer writing.
                if matches!(frame, Poll::Ready(None | Some(Err(_)))) {
                    this.guard.take();
                }
                frame
            }
            KindProj::Stats { data } => {
                Poll::Ready(data.take().map(|data| Ok(Frame::data(B::Data::from(data)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Stats { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Stats { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("writing", &self.guard.is_some())
            .finish_non_exhaustive()
    }
}
