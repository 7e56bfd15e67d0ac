//! The cost per response of the killer's check ([`Recycler::response_sent`]), in one run:
//! what the layer adds to every request, with limits that are never reached.
//!
//! Run: `cargo bench -p raindrops-killer --bench check`. Each figure is the median of 7
//! trials, in ns per response, at the default cycle (16): a memory limit costs one read every
//! 16 responses. "USS, RSS above the limit" forces the `smaps_rollup` read that the RSS
//! shortcut otherwise skips (its limit lies between this process's USS and RSS).

use std::hint::black_box;
use std::time::Instant;

use raindrops::memory::MemoryMetric;
use raindrops_killer::{Limits, Recycler, Trigger};

const TRIALS: usize = 7;
const CALLS: u32 = 200_000;

/// Median ns per `response_sent` with `limits`.
fn nanos(limits: Limits) -> f64 {
    let recycler = Recycler::with_limits(limits, |_: &Trigger| {}).expect("a recycler");
    let mut trials: Vec<f64> = (0..TRIALS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..CALLS {
                recycler.response_sent();
            }
            start.elapsed().as_secs_f64() * 1e9 / f64::from(CALLS)
        })
        .collect();
    assert!(!black_box(&recycler).triggered(), "a limit was reached: {limits:?}");
    trials.sort_by(f64::total_cmp);
    trials[TRIALS / 2]
}

fn main() {
    let pid = std::process::id();
    let (rss, uss) =
        (MemoryMetric::Rss.read(pid).expect("RSS"), MemoryMetric::Uss.read(pid).expect("USS"));
    let memory = |metric, bytes| Limits { memory: Some((metric, bytes)), ..Limits::default() };
    println!("killer check per response (cycle 16), median of {TRIALS} trials:");
    let rows = [
        ("no limit", nanos(Limits::default())),
        ("requests only", nanos(Limits { requests: Some(u64::MAX), ..Limits::default() })),
        ("RSS", nanos(memory(MemoryMetric::Rss, u64::MAX))),
        ("USS, RSS within the limit", nanos(memory(MemoryMetric::Uss, u64::MAX))),
        ("USS, RSS above the limit", nanos(memory(MemoryMetric::Uss, (uss + rss) / 2))),
    ];
    for (name, ns) in rows {
        println!("  {name:<28} {ns:>8.1} ns");
    }
    println!("(this process: RSS {} KiB, USS {} KiB)", rss >> 10, uss >> 10);
}
