use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use tower::Service;

use super::body::ResponseBody;
use super::future::ResponseFuture;
use super::shared::Shared;
use super::stats::{GaugeGuard, HttpStats};
use crate::exposition::{Format, Snapshot};
use crate::listeners::Peer;

/// Counts `calling`/`writing` around `S` and answers the stats endpoint; see the
/// [module docs](super).
#[derive(Clone)]
pub struct Raindrops<S> {
    pub(super) inner: S,
    pub(super) shared: Arc<Shared>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Raindrops<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Raindrops")
            .field("inner", &self.inner)
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

impl<S> Raindrops<S> {
    /// The inner service.
    ///
    /// ```
    /// # use raindrops_http::middleware::{HttpStats, Raindrops, RaindropsLayer};
    /// let service = Raindrops::new(7, &RaindropsLayer::new(HttpStats::per_cpu()?));
    /// assert_eq!(*service.get_ref(), 7);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    ///
    /// ```
    /// # use raindrops_http::middleware::{HttpStats, Raindrops, RaindropsLayer};
    /// let mut service = Raindrops::new(7, &RaindropsLayer::new(HttpStats::per_cpu()?));
    /// *service.get_mut() += 1;
    /// assert_eq!(service.into_inner(), 8);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    ///
    /// ```
    /// # use raindrops_http::middleware::{HttpStats, Raindrops, RaindropsLayer};
    /// assert_eq!(Raindrops::new(7, &RaindropsLayer::new(HttpStats::per_cpu()?)).into_inner(), 7);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Raindrops<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
    ResBody::Data: From<Bytes>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if let Some(format) = self.endpoint(&req) {
            return ResponseFuture::stats(self.stats_response(format, req.method()));
        }
        let stripe = self.shared.stripe();
        stripe.0.requests().incr();
        let guard = GaugeGuard::enter(stripe, HttpStats::calling);
        ResponseFuture::inner(self.inner.call(req), guard)
    }
}

impl<S> Raindrops<S> {
    /// The format to answer `req` with, if it is for the endpoint and its peer is allowed.
    fn endpoint<B>(&self, req: &Request<B>) -> Option<Format> {
        let shared = &self.shared;
        let path = req.uri().path();
        let format = if [&shared.path, &shared.json_path, &shared.metrics_path]
            .map(String::as_str)
            .contains(&path)
        {
            // "", ".json" or "/metrics" after the base path.
            Format::negotiate(&path[shared.path.len()..], req.headers())
        } else if shared.extra_metrics_path.as_deref() == Some(path) {
            Format::OpenMetrics
        } else {
            return None;
        };
        allowed(&shared.allow, peer(req)?).then_some(format)
    }

    fn stats_response(&self, format: Format, method: &Method) -> Response<Bytes> {
        let shared = &self.shared;
        let total = shared.workers.sum();
        let listeners = match shared.listeners.as_ref().map(|l| l.sample()).transpose() {
            Ok(listeners) => listeners.unwrap_or_default(),
            Err(err) => {
                let mut response = Response::new(Bytes::from(format!("listener stats: {err}\n")));
                *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                return response;
            }
        };
        let snapshot = Snapshot {
            calling: total.calling,
            writing: total.writing,
            requests: Some(total.requests),
            listeners,
            counters: shared.counters.as_ref().map(|c| c.sample()).unwrap_or_default(),
            accept_waits: shared.accept_waits.as_ref().map(|w| w.snapshot()),
        };
        let body = format.render(&snapshot);
        let length = body.len();
        let mut response =
            Response::new(if method == Method::HEAD { Bytes::new() } else { Bytes::from(body) });
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        response
    }
}

/// The peer's address from axum's connect info: `SocketAddr`, or our [`Peer`] (a Unix peer is
/// on this host, so it counts as loopback).
fn peer<B>(req: &Request<B>) -> Option<IpAddr> {
    let extensions = req.extensions();
    match extensions.get::<ConnectInfo<Peer>>() {
        Some(ConnectInfo(Peer::Tcp(addr))) => Some(addr.ip()),
        Some(ConnectInfo(Peer::Unix)) => Some(IpAddr::from(std::net::Ipv4Addr::LOCALHOST)),
        None => extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip()),
    }
}

/// Whether `peer` is in one of `nets` (IPv4-mapped IPv6 addresses count as IPv4).
fn allowed(nets: &[ipnet::IpNet], peer: IpAddr) -> bool {
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    nets.iter().any(|net| net.contains(&peer))
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn loopback_and_mapped_addresses() {
        let nets = vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        assert!(allowed(&nets, "127.0.0.2".parse().unwrap()));
        assert!(allowed(&nets, "::1".parse().unwrap()));
        assert!(allowed(&nets, "::ffff:127.0.0.1".parse().unwrap()));
        assert!(!allowed(&nets, "10.0.0.1".parse().unwrap()));
        assert!(!allowed(&nets, "::2".parse().unwrap()));
    }
}
