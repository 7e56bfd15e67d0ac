//! `SharedAggregate` record cost, 1 process and 2 forked processes on their own rows.
//!
//! Run: `cargo bench -p raindrops --bench record`. Median of 7 trials, ns per record.

use std::hint::black_box;
use std::time::Instant;

use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork};
use raindrops::{Drops, SharedAggregate};

const OPS: u64 = 5_000_000;

fn time(aggregate: &SharedAggregate, row: usize) -> f64 {
    let recorder = aggregate.recorder(row);
    let start = Instant::now();
    for i in 0..OPS {
        // Latency-like values: 0..~65k, varied so the buckets change.
        recorder.record(black_box((i * 7919 % 65_536) as i64));
    }
    start.elapsed().as_nanos() as f64 / OPS as f64
}

fn median(mut f: impl FnMut() -> f64) -> f64 {
    let mut runs: Vec<f64> = (0..7).map(|_| f()).collect();
    runs.sort_by(f64::total_cmp);
    runs[3]
}

fn main() {
    let aggregate = SharedAggregate::new(2).expect("aggregate");
    let results = Drops::new(2).expect("results");
    let one = median(|| time(&aggregate, 0));
    let two = median(|| {
        let children: Vec<_> = (0..2)
            .map(|row| {
                // SAFETY: single-threaded bench; the child records, reports and `_exit`s.
                match unsafe { fork() }.expect("fork") {
                    ForkResult::Child => {
                        results.set(row, (time(&aggregate, row) * 1000.0) as u64);
                        // SAFETY: ends the child at once.
                        unsafe { nix::libc::_exit(0) }
                    }
                    ForkResult::Parent { child } => child,
                }
            })
            .collect();
        for child in children {
            waitpid(child, None).expect("waitpid");
        }
        (0..2).map(|r| results.get(r) as f64 / 1000.0).fold(0.0, f64::max)
    });
    println!("SharedAggregate::record, ns per record (median of 7 x {OPS})");
    println!("  1 process                     {one:6.2}");
    println!("  2 processes, own rows         {two:6.2}  {:.2}x", two / one);
}
