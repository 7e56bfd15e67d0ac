//! A hello-world axum server for `benches/middleware.sh`: `hello ADDR layer|plain`.
//!
//! Serves `/` on ADDR (loopback) with or without `RaindropsLayer`, on a multi-threaded runtime,
//! until killed; the script drives it with `wrk` and alternates the two variants.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use raindrops_http::middleware::RaindropsLayer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18181".to_owned());
    let with_layer = args.next().as_deref() != Some("plain");
    let mut app = Router::new().route("/", get(|| async { "Hello, world!\n" }));
    if with_layer {
        app = app.layer(RaindropsLayer::new()?);
    }
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
