//! `SharedAggregate` fed by real forked processes.
#![cfg(target_os = "linux")]

mod util;

use raindrops::SharedAggregate;

const PER_CHILD: u64 = 250_000;

/// Child `c`'s samples: a deterministic spread over six orders of magnitude, a few negative.
fn samples(child: u64) -> impl Iterator<Item = i64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ child;
    (0..PER_CHILD).map(move |_| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let r = state >> 33;
        let magnitude = 1u64 << (r % 20);
        let value = (r >> 5) % magnitude;
        if r % 97 == 0 { -(value as i64) - 1 } else { value as i64 }
    })
}

#[test]
fn four_forked_recorders_merge_exactly() {
    let aggregate = SharedAggregate::new(4).unwrap();
    let children: Vec<_> = (0..4)
        .map(|c| {
            let recorder = aggregate.recorder(c as usize);
            util::spawn(move || {
                samples(c).for_each(|v| recorder.record(v));
                0
            })
        })
        .collect();
    for child in children {
        assert_eq!(util::wait(child), 0);
    }

    let mut all: Vec<i64> = (0..4).flat_map(samples).collect();
    let stats = aggregate.snapshot();
    assert_eq!(stats.count, 4 * PER_CHILD);
    assert_eq!(stats.sum, all.iter().sum::<i64>());
    assert_eq!(stats.min, all.iter().min().copied());
    assert_eq!(stats.max, all.iter().max().copied());
    let negatives = all.iter().filter(|&&v| v < 0).count() as u64;
    assert_eq!(stats.outliers_low, negatives);

    let n = all.len() as f64;
    let mean = all.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = all.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!((stats.mean() - mean).abs() < 1e-9 * mean.abs().max(1.0));
    assert!((stats.std_dev() - var.sqrt()).abs() / var.sqrt() < 1e-6);

    // Percentiles over the non-negative samples, within the documented 1/128.
    all.retain(|&v| v >= 0);
    all.sort_unstable();
    for p in [50.0, 90.0, 99.0, 99.9] {
        let rank = ((p / 100.0 * all.len() as f64).ceil() as usize).max(1);
        let exact = all[rank - 1];
        let got = stats.percentile(p).unwrap();
        let error = (got - exact).abs() as f64;
        assert!(error <= exact as f64 / 128.0 + 0.5, "p{p}: got {got}, exact {exact}");
    }
}
