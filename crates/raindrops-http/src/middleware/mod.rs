/*!
Counts requests *calling* the app and responses *writing* their body, and answers the stats
endpoint (`/_raindrops` by default): Ruby raindrops' `Raindrops::Middleware` as a tower layer.

* `calling` goes up when a request enters the inner service and down when its future completes,
  fails, or is dropped (client gone, a timeout, a panic caught by an outer layer).
* `writing` goes up when a response leaves the inner service and down when its body ends, fails
  or is dropped: the guard travels from the future into the [`ResponseBody`].
* Both are gauges in a per-worker row of a [`raindrops::Workers`] segment, so forked workers
  sharing one segment report exact sums and a dead worker's share vanishes when the supervisor
  retires its row.

The endpoint answers `GET {path}` in raindrops' text format, `{path}.json` in JSON and
`{path}/metrics` (or `{path}` with `Accept: application/openmetrics-text`) in OpenMetrics; see
[`exposition`](crate::exposition). It is itself not counted. By default it answers only peers
on loopback (the peer address comes from axum's `ConnectInfo<SocketAddr>`, or
`ConnectInfo<`[`Peer`](crate::listeners::Peer)`>` with a [`CountingListener`](crate::listeners::CountingListener),
where a Unix peer counts as loopback); any other request to it passes through to the app as if
the layer had no endpoint.

Listener numbers come from a [`Listeners`](crate::listeners::Listeners) source: [`KernelListeners`](crate::listeners::KernelListeners)
asks the kernel about any listener; [`OwnedListeners`](crate::listeners::OwnedListeners) reads the
server's own listeners in O(1).

# Example

```
use axum::{Router, routing::get};
use raindrops_http::middleware::{HttpStats, RaindropsLayer};

let _app: Router = Router::new()
    .route("/", get(|| async { "Hello, world!\n" }))
    .layer(RaindropsLayer::new(HttpStats::per_cpu()?));
// raindrops_http::server::Server::new(Default::default())
//     .serve(listener, |peer| Extension(ConnectInfo(peer)).layer(app.clone()))
# Ok::<(), raindrops::SegmentError>(())
```
*/

mod body;
mod future;
mod layer;
mod service;
mod shared;
mod stats;
#[cfg(test)]
mod tests;

pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use layer::RaindropsLayer;
pub use service::Raindrops;
pub use stats::{Counters, HttpStats};
