//! The cost of one memory check of this process, per source, in one run.
//!
//! Run: `cargo bench -p raindrops --bench memory`. Each figure is the median of 7 trials, in µs
//! per check. "probe" rereads a file opened once (what the killer does every `cycle`
//! requests); "one-shot" opens, reads and closes it each time; `ps` forks and execs `ps`.

use std::hint::black_box;
use std::time::Instant;

use raindrops::memory::{MemoryMetric, MemoryProbe, ps_rss};

const TRIALS: usize = 7;

/// Median µs per call of `check` over `TRIALS` trials of `calls` calls.
fn micros(calls: u32, mut check: impl FnMut() -> u64) -> f64 {
    let mut trials: Vec<f64> = (0..TRIALS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                black_box(check());
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(calls)
        })
        .collect();
    trials.sort_by(f64::total_cmp);
    trials[TRIALS / 2]
}

fn main() {
    let pid = std::process::id();
    let probe = |metric| MemoryProbe::new(pid, metric).expect("a probe of this process");
    let rss = probe(MemoryMetric::Rss);
    let pss = probe(MemoryMetric::Pss);
    let uss = probe(MemoryMetric::Uss);
    let read = |probe: &MemoryProbe| probe.read().expect("a reading");
    let mappings =
        std::fs::read_to_string("/proc/self/maps").map_or(0, |maps| maps.lines().count());
    println!("memory check of pid {pid} ({mappings} mappings), median of {TRIALS} trials:");
    let rows: [(&str, f64); 7] = [
        ("statm (RSS), probe", micros(100_000, || read(&rss))),
        ("statm (RSS), one-shot", micros(20_000, || MemoryMetric::Rss.read(pid).expect("RSS"))),
        ("smaps_rollup (PSS), probe", micros(5_000, || read(&pss))),
        ("smaps_rollup (USS), probe", micros(5_000, || read(&uss))),
        (
            "smaps_rollup (USS), one-shot",
            micros(5_000, || MemoryMetric::Uss.read(pid).expect("USS")),
        ),
        (
            "cgroup usage, probe",
            match MemoryProbe::new(pid, MemoryMetric::Cgroup) {
                Ok(cgroup) => micros(20_000, || read(&cgroup)),
                Err(err) => {
                    eprintln!("cgroup: {err}");
                    f64::NAN
                }
            },
        ),
        ("ps -o rss= -p PID", micros(20, || ps_rss(pid).expect("ps"))),
    ];
    for (name, us) in rows {
        println!("  {name:<30} {us:>10.2} µs");
    }
}
