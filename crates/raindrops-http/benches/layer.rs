//! The middleware's cost per request, in process (no sockets): a hello-world axum router
//! called through `tower::ServiceExt::oneshot` with and without `RaindropsLayer`, the body
//! read to its end, on 1 and on 2 threads at once (the threads share one worker row, as the
//! threads of one server process do). Prints ns per request, medians of 7 runs.
//!
//! `cargo bench -p raindrops-http --bench layer`

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use http_body_util::BodyExt;
use raindrops_http::middleware::{HttpStats, RaindropsLayer};
use tower::ServiceExt;

const REQUESTS: u32 = 200_000;

async fn drive(app: Router, n: u32) {
    for _ in 0..n {
        let req = Request::get("/").body(Body::empty()).expect("a request");
        let res = app.clone().oneshot(req).await.expect("infallible");
        let body = res.into_body().collect().await.expect("a body");
        std::hint::black_box(body);
    }
}

/// ns per request with `threads` threads calling `app` at once.
fn measure(app: &Router, threads: usize) -> f64 {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let app = app.clone();
            scope.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
                rt.block_on(drive(app, REQUESTS));
            });
        }
    });
    start.elapsed().as_nanos() as f64 / f64::from(REQUESTS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let plain = Router::new().route("/", get(|| async { "Hello, world!\n" }));
    // What any layer costs in axum (it re-boxes every route), for scale.
    let identity = plain.clone().layer(tower::layer::util::Identity::new());
    let layered = plain.clone().layer(RaindropsLayer::new(HttpStats::per_cpu()?));
    for threads in [1, 2] {
        let (mut a, mut i, mut b) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..7 {
            a.push(measure(&plain, threads));
            i.push(measure(&identity, threads));
            b.push(measure(&layered, threads));
        }
        let (a, i, b) = (median(a), median(i), median(b));
        println!(
            "{threads} thread(s): plain {a:.0} ns/req, identity layer {i:.0}, raindrops layer \
             {b:.0}: +{:.0} ns over plain ({:.3}×), +{:.0} ns over identity",
            b - a,
            b / a,
            b - i
        );
    }
    Ok(())
}
