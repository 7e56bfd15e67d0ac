//! `metrics::counter!("x").increment(1)` through our recorder and through
//! `metrics-exporter-prometheus`' recorder, in one run, single process: a cached handle in a
//! loop, and the macro call each time (what apps do).
//!
//! Run: `cargo bench -p raindrops-metrics --bench counter`. Median of 7 trials, ns per
//! increment; the ratio is ours / theirs (goal: at most 1.0).

use std::hint::black_box;
use std::time::Instant;

use metrics::Recorder;
use metrics_exporter_prometheus::PrometheusBuilder;
use raindrops_metrics::SharedRecorder;

const OPS: u64 = 5_000_000;

fn median(mut f: impl FnMut() -> f64) -> f64 {
    let mut runs: Vec<f64> = (0..7).map(|_| f()).collect();
    runs.sort_by(f64::total_cmp);
    runs[3]
}

fn per_op(f: impl Fn()) -> f64 {
    let start = Instant::now();
    for _ in 0..OPS {
        f();
    }
    start.elapsed().as_nanos() as f64 / OPS as f64
}

/// (cached handle, macro each time) in ns per increment, with `recorder` as the local recorder.
fn measure(recorder: &dyn Recorder) -> (f64, f64) {
    metrics::with_local_recorder(recorder, || {
        let counter = metrics::counter!("x");
        let cached = median(|| per_op(|| black_box(&counter).increment(1)));
        let uncached = median(|| per_op(|| metrics::counter!(black_box("x")).increment(1)));
        (cached, uncached)
    })
}

fn main() {
    let ours = SharedRecorder::builder().build().expect("shared recorder");
    let theirs = PrometheusBuilder::new().build_recorder();
    // Interleaved, so both see the same machine state.
    let (our_cached, our_uncached) = measure(&ours);
    let (their_cached, their_uncached) = measure(&theirs);
    println!("metrics::counter!(\"x\").increment(1), ns per increment (median of 7 x {OPS})");
    println!("                          raindrops-metrics  metrics-exporter-prometheus  ratio");
    println!(
        "  cached handle           {our_cached:17.2}  {their_cached:27.2}  {:5.2}x",
        our_cached / their_cached
    );
    println!(
        "  macro each time         {our_uncached:17.2}  {their_uncached:27.2}  {:5.2}x",
        our_uncached / their_uncached
    );
    assert!(ours.render().contains("x_total "), "our counter counted");
}
