//! `Aggregate` against the Ruby `aggregate` gem's own outputs, committed in
//! `tests/fixtures/aggregate/` by `generate.rb`, plus property tests.

use proptest::prelude::*;
use raindrops::{Aggregate, AggregateError, RubyFloat};

#[path = "util/gem_cases.rs"]
mod gem_cases;

use gem_cases::CASES;

fn same_float(ours: f64, gem: f64) -> bool {
    ours.to_bits() == gem.to_bits() || (ours.is_nan() && gem.is_nan())
}

fn close(ours: f64, gem: f64) -> bool {
    same_float(ours, gem) || ((ours - gem) / gem).abs() < 1e-9
}

#[test]
fn text_is_byte_for_byte_the_gems() {
    for case in &CASES {
        let ours = case.rendered(&case.aggregate());
        assert_eq!(ours, case.text, "{}: ours\n{ours}\ngem\n{}", case.name, case.text);
    }
}

#[test]
fn statistics_match_the_gems() {
    for case in &CASES {
        let name = case.name;
        let agg = case.aggregate();
        let values = case.values();
        assert_eq!(agg.count(), case.int("count") as u64, "{name}");
        assert_eq!(agg.min(), case.option("min"), "{name}");
        assert_eq!(agg.max(), case.option("max"), "{name}");
        assert_eq!(agg.outliers_low(), case.int("outliers_low") as u64, "{name}");
        assert_eq!(agg.outliers_high(), case.int("outliers_high") as u64, "{name}");
        let exact: i128 = values.iter().map(|&v| i128::from(v)).sum();
        assert_eq!(agg.sum(), exact, "{name}");

        let buckets: Vec<String> =
            agg.nonzero_buckets().map(|b| format!("{}:{}", b.value, b.count)).collect();
        assert_eq!(buckets.join(" "), case.get("buckets"), "{name}");

        let (mean, std_dev) = (case.float("mean"), case.float("std_dev"));
        if case.gem_sum_exact() {
            // Same operations on the same f64s: identical bits.
            assert!(same_float(agg.sum() as f64, case.float("sum")), "{name}");
            assert!(same_float(agg.mean(), mean), "{name}: {} vs {mean}", agg.mean());
            assert!(same_float(agg.std_dev(), std_dev), "{name}: {} vs {std_dev}", agg.std_dev());
        } else {
            // The gem's Float sum rounded; ours is exact.
            assert!(close(agg.mean(), mean), "{name}: {} vs {mean}", agg.mean());
            assert!(close(agg.std_dev(), std_dev), "{name}: {} vs {std_dev}", agg.std_dev());
        }
    }
}

/// `X-Mean` and `X-Std-Dev` of the Watcher are these `RubyFloat`s; the headers themselves are
/// checked against the same cases in raindrops-http's `tests/x_headers.rs`.
#[test]
fn ruby_float_matches_the_gems_to_s() {
    for case in &CASES {
        let name = case.name;
        let to_s = |key| case.get(key).split_once(" 0x").unwrap().0;
        let sum = case.float("sum");
        assert_eq!(RubyFloat(sum).to_string(), to_s("sum"), "{name}");
        let agg = case.aggregate();
        if case.gem_sum_exact() {
            assert_eq!(RubyFloat(agg.mean()).to_string(), to_s("mean"), "{name}");
            assert_eq!(RubyFloat(agg.std_dev()).to_string(), to_s("std_dev"), "{name}");
        }
    }
}

#[test]
fn reset_then_rerecord_gives_the_same_text() {
    for case in &CASES {
        let mut agg = case.aggregate();
        agg.reset();
        assert_eq!(agg.to_string(), "Empty histogram", "{}", case.name);
        assert_eq!((agg.count(), agg.sum(), agg.min()), (0, 0, None));
        assert_eq!((agg.outliers_low(), agg.outliers_high()), (0, 0));
        agg.extend(case.values());
        assert_eq!(case.rendered(&agg), case.text, "{}", case.name);
    }
}

#[test]
fn linear_rejects_what_the_gem_rejects() {
    use AggregateError::*;
    assert_eq!(Aggregate::linear(10, 0, 1).unwrap_err(), HighNotAboveLow { low: 10, high: 0 });
    assert_eq!(Aggregate::linear(0, 10, 0).unwrap_err(), WidthNotPositive { width: 0 });
    assert_eq!(Aggregate::linear(0, 10, -5).unwrap_err(), WidthNotPositive { width: -5 });
    assert_eq!(
        Aggregate::linear(0, 10, 11).unwrap_err(),
        WidthExceedsRange { range: 10, width: 11 }
    );
    assert_eq!(
        Aggregate::linear(0, 10, 3).unwrap_err(),
        RangeNotMultipleOfWidth { range: 10, width: 3 }
    );
    assert_eq!(
        Aggregate::linear(i64::MIN, i64::MAX, 1).unwrap_err(),
        TooManyBuckets { buckets: u64::MAX, max: Aggregate::MAX_LINEAR_BUCKETS }
    );
    let err = Aggregate::linear(0, 10, 11).unwrap_err().to_string();
    assert_eq!(err, "linear histogram width (11) must not exceed high - low (10)");
    // The whole i64 range in a few wide buckets works, extremes included.
    let mut agg = Aggregate::linear(i64::MIN + 1, i64::MAX, i64::MAX).unwrap();
    agg.extend([i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX]);
    assert_eq!((agg.outliers_low(), agg.outliers_high()), (1, 1));
    let counts: Vec<u64> = agg.buckets().map(|b| b.count).collect();
    assert_eq!(counts, [2, 2]);
}

#[test]
fn log2_buckets_cover_the_whole_i64_range() {
    let agg: Aggregate = [1, i64::MAX].into_iter().collect();
    let last = agg.buckets().next_back().unwrap();
    assert_eq!((last.value, last.count), (1i128 << 63, 1));
    assert_eq!(agg.buckets().len(), 64);
}

fn any_aggregate() -> impl Strategy<Value = Aggregate> {
    prop_oneof![
        Just(Aggregate::new()),
        (any::<i64>(), 1i64..=1_000, 1i64..=1_000).prop_map(|(low, buckets, width)| {
            let low = low.min(i64::MAX - buckets * width);
            Aggregate::linear(low, low + buckets * width, width).unwrap()
        }),
    ]
}

fn any_values() -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(prop_oneof![any::<i64>(), -1_000i64..1_000, 0i64..1 << 20], 0..200)
}

proptest! {
    #[test]
    fn exact_statistics_and_rendering_never_panics(
        mut agg in any_aggregate(),
        values in any_values(),
        columns in 0usize..300,
    ) {
        agg.extend(values.iter().copied());
        prop_assert_eq!(agg.count(), values.len() as u64);
        prop_assert_eq!(agg.min(), values.iter().copied().min());
        prop_assert_eq!(agg.max(), values.iter().copied().max());
        prop_assert_eq!(agg.sum(), values.iter().map(|&v| i128::from(v)).sum::<i128>());
        let bucketed: u64 = agg.buckets().map(|b| b.count).sum();
        prop_assert_eq!(bucketed + agg.outliers_low() + agg.outliers_high(), agg.count());
        if values.len() < 2 {
            prop_assert!(agg.std_dev().is_nan());
        } else {
            prop_assert!(agg.std_dev() >= 0.0);
        }

        let text = agg.render(columns).to_string();
        if bucketed == 0 {
            prop_assert_eq!(text, "Empty histogram");
        } else {
            let total = text.lines().last().unwrap();
            prop_assert!(total.trim_start().starts_with("Total |"));
            let shown = total.rsplit(' ').next().unwrap();
            prop_assert_eq!(shown.trim_end().parse::<u64>().unwrap(), bucketed);
            let header = text.lines().next().unwrap();
            prop_assert_eq!(header.len(), columns.max(80));
        }
    }
}
