//! A hello-world axum server for `benches/middleware.sh`.
//!
//! - `hello ADDR plain`: `/` without the layer;
//! - `hello ADDR owned`: with `RaindropsLayer` reading its own listener in O(1)
//!   (`CountingListener` + `OwnedListeners`);
//! - `hello ADDR kernel`: with `RaindropsLayer` asking the kernel (`KernelListeners`, netlink);
//! - `hello ADDR hold N`: a client that opens N idle connections to ADDR, holds them until
//!   killed (or 10 minutes), so the endpoint can be timed at N open connections.
//!
//! Servers run on a multi-threaded runtime until killed; the script drives them with `wrk`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use raindrops_http::listeners::{
    ConnectionCounts, CountingListener, KernelListeners, OwnedListeners, Peer,
};
use raindrops_http::middleware::{HttpStats, RaindropsLayer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // HELLO_THREADS=N: N runtime threads (default: one per CPU).
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = std::env::var("HELLO_THREADS").ok().and_then(|n| n.parse().ok()) {
        runtime.worker_threads(n);
    }
    runtime.enable_all().build()?.block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:18181").parse()?;
    let variant = args.next().unwrap_or_else(|| "owned".to_owned());
    if variant == "hold" {
        let n: usize = args.next().as_deref().unwrap_or("10000").parse()?;
        return hold(addr, n).await;
    }
    let app = Router::new().route("/", get(|| async { "Hello, world!\n" }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    match variant.as_str() {
        "plain" => {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?
        }
        "kernel" => {
            let kernel = KernelListeners::addrs(vec![addr.into()])?;
            let app = app.layer(RaindropsLayer::new(HttpStats::per_cpu()?).listeners(kernel));
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?
        }
        "owned" => {
            let counts = ConnectionCounts::new(1, 1)?;
            let owned = OwnedListeners::new(counts.clone()).tcp(&listener)?;
            let app = app.layer(RaindropsLayer::new(HttpStats::per_cpu()?).listeners(owned));
            let listener = CountingListener::new(listener, counts.counter(0, 0));
            axum::serve(listener, app.into_make_service_with_connect_info::<Peer>()).await?
        }
        other => {
            return Err(format!("unknown variant {other:?}: plain, owned, kernel, hold").into());
        }
    }
    Ok(())
}

/// Opens `n` connections to `addr` and keeps them idle.
async fn hold(addr: SocketAddr, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        held.push(tokio::net::TcpStream::connect(addr).await?);
    }
    eprintln!("holding {n} connections to {addr}");
    tokio::time::sleep(Duration::from_secs(600)).await;
    Ok(())
}
