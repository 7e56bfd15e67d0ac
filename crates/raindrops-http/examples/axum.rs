//! Hello world behind the raindrops middleware, with its listener's numbers read in O(1).
//!
//! ```text
//! cargo run -p raindrops-http --example axum            # serves 127.0.0.1:8080
//! curl http://127.0.0.1:8080/                            # Hello, world!
//! curl http://127.0.0.1:8080/_raindrops                  # calling, writing, active, queued
//! curl http://127.0.0.1:8080/_raindrops.json
//! curl http://127.0.0.1:8080/_raindrops/metrics          # OpenMetrics
//! ```
//!
//! An address can be given as the first argument (`... --example axum -- 127.0.0.1:9000`).

use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::{Extension, Router};
use raindrops_http::listeners::{ConnectionCounts, CountingListener, OwnedListeners, Peer};
use raindrops_http::middleware::{HttpStats, RaindropsLayer};
use raindrops_http::server::{ConnectionPolicy, Server};
use tower::Layer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    // One worker (this process), one listener: active connections counted as they are
    // accepted, the accept queue read with TCP_INFO.
    let counts = ConnectionCounts::new(1, 1)?;
    let owned = OwnedListeners::new(counts.clone()).tcp(&listener)?;
    let app = Router::new()
        .route("/", get(|| async { "Hello, world!\n" }))
        .layer(RaindropsLayer::new(HttpStats::per_cpu()?).listeners(owned));
    eprintln!("listening on http://{}/ (stats at /_raindrops)", listener.local_addr()?);
    let listener = CountingListener::new(listener, counts.counter(0, 0));
    // Slow or idle clients are closed, and connections capped (ConnectionPolicy's defaults).
    Server::new(ConnectionPolicy::default())
        .serve(listener, |addr| Extension(ConnectInfo(Peer::Tcp(addr))).layer(app.clone()))
        .await;
    Ok(())
}
