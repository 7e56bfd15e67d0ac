//! Hello world behind the raindrops middleware.
//!
//! ```text
//! cargo run -p raindrops-http --example axum            # serves 127.0.0.1:8080
//! curl http://127.0.0.1:8080/                            # Hello, world!
//! curl http://127.0.0.1:8080/_raindrops                  # calling: 0 / writing: 0
//! curl http://127.0.0.1:8080/_raindrops.json
//! curl http://127.0.0.1:8080/_raindrops/metrics          # OpenMetrics
//! ```
//!
//! An address can be given as the first argument (`... --example axum -- 127.0.0.1:9000`).

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use raindrops_http::middleware::RaindropsLayer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let app =
        Router::new().route("/", get(|| async { "Hello, world!\n" })).layer(RaindropsLayer::new()?);
    eprintln!("listening on http://{}/ (stats at /_raindrops)", listener.local_addr()?);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
