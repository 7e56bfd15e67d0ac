use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::Service;

use super::future::ResponseFuture;
use crate::Recycler;

/// Counts each response of `S` once its body is sent, and checks the worker's limits; see
/// the [module docs](super).
#[derive(Debug, Clone)]
pub struct Killer<S> {
    inner: S,
    recycler: Arc<Recycler>,
}

impl<S> Killer<S> {
    /// Wraps `inner`, counting into `recycler`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use raindrops_killer::{Killer, Policy, Recycler, Trigger};
    /// let recycler = Arc::new(Recycler::new(&Policy::new(), |_: &Trigger| {})?);
    /// let service = Killer::new(7, recycler);
    /// assert_eq!(*service.get_ref(), 7);
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn new(inner: S, recycler: Arc<Recycler>) -> Self {
        Killer { inner, recycler }
    }

    /// The inner service.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use raindrops_killer::{Killer, Policy, Recycler, Trigger};
    /// # let recycler = Arc::new(Recycler::new(&Policy::new(), |_: &Trigger| {})?);
    /// assert_eq!(*Killer::new(7, recycler).get_ref(), 7);
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use raindrops_killer::{Killer, Policy, Recycler, Trigger};
    /// # let recycler = Arc::new(Recycler::new(&Policy::new(), |_: &Trigger| {})?);
    /// assert_eq!(Killer::new(7, recycler).into_inner(), 7);
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Killer<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<super::KillerBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        ResponseFuture::new(self.inner.call(req), Arc::clone(&self.recycler))
    }
}
