//! A preforking axum server with raindrops: any worker's `/_raindrops` and `/metrics` show
//! every worker's requests, connections and recycles, and a worker whose USS passes its limit
//! is replaced (the new one serves before the old one stops, which fails no request).
//!
//! `cargo run -p raindrops-killer --example prefork -- [ADDR] [MAX_USS_MIB]` (by default
//! 127.0.0.1:8080 and 300), then `curl http://127.0.0.1:8080/_raindrops`.

use axum::{Router, routing::get};
use raindrops::memory::MemoryMetric;
use raindrops_killer::{Policy, prefork::PreforkStats};
use raindrops_prefork::{Prefork, WorkerContext};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    raindrops_prefork::log::init(); // the master's and workers' log lines, on stderr
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let mib: u64 = args.next().map_or(Ok(300), |mib| mib.parse())?;
    let prefork = Prefork::builder().workers(2).listen(addr.parse()?).build()?;
    eprintln!("listening on http://{}/", prefork.listeners()[0].addr()?);
    // Made before fork, shared by every worker; a dead worker's rows are retired.
    let stats = PreforkStats::for_prefork(&prefork)?;
    let policy = Policy::new().max_memory(MemoryMetric::Uss, mib << 20..=(mib + mib / 4) << 20);
    stats.watch(prefork).run(move |ctx| worker(ctx, stats.clone(), policy.clone()))?;
    Ok(())
}

/// One worker: the app behind the killer and the stats layer, until SIGQUIT; then it drains.
async fn worker(ctx: WorkerContext, stats: PreforkStats, policy: Policy) -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(|| async { "hello\n" }))
        .layer(stats.killer(&ctx, &policy).map_err(std::io::Error::other)?)
        .layer(stats.layer(&ctx)?);
    stats.serve(&ctx, Default::default(), app).await
}
