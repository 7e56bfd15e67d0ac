//! The worker's accept loop: each connection served by the killer's
//! [`raindrops_killer::drain::serve_connection`], so that a graceful stop
//! (a recycle, SIGHUP, SIGQUIT) fails no request, whether on a new or a keep-alive connection.

use std::convert::Infallible;

use axum::Router;
use axum::body::{Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::serve::Listener;
use raindrops_http::accept::Peer;
use raindrops_killer::drain::{SETTLE, serve_connection};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Accepts on `listener` until `draining`, then stops accepting (the other workers, sharing
/// the socket, take the new connections) and waits for its connections to drain.
pub(super) async fn serve<L>(
    mut listener: L,
    app: Router,
    peer: fn(L::Addr) -> Peer,
    draining: watch::Receiver<bool>,
) where
    L: Listener,
{
    let mut stop = draining.clone();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            (io, addr) = listener.accept() => {
                let service = with_peer(app.clone(), peer(addr));
                connections.spawn(serve_connection(io, service, draining.clone(), SETTLE));
            }
            _ = stop.wait_for(|draining| *draining) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// `app` with the peer in each request's extensions, where the middleware looks for it.
fn with_peer<B>(
    app: Router,
    peer: Peer,
) -> impl tower::Service<
    Request<B>,
    Response = Response<axum::body::Body>,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    tower::service_fn(move |mut req: Request<B>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req)
    })
}
