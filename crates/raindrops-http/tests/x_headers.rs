//! The Watcher's and LastDataRecv's `X-*` headers against the Ruby `aggregate` gem's outputs
//! (the core's committed cases): the Watcher's are Ruby raindrops' `agg_to_hash`, byte for byte.

#[path = "../../raindrops/tests/util/gem_cases.rs"]
mod gem_cases;

use gem_cases::CASES;
use raindrops_http::x_headers::{Style, x_headers};

#[test]
fn watcher_headers_match_the_gems_to_s() {
    for case in &CASES {
        let name = case.name;
        let to_s = |key| case.get(key).split_once(" 0x").unwrap().0;
        let agg = case.aggregate();
        let headers = x_headers(&agg, Style::Watcher);
        let header = |name| headers.iter().find(|h| h.0 == name).unwrap().1.as_str();
        assert_eq!(header("X-Count"), case.get("count"), "{name}");
        let nil_to_s = |key| case.get(key).replace("nil", "");
        assert_eq!(header("X-Min"), nil_to_s("min"), "{name}");
        assert_eq!(header("X-Max"), nil_to_s("max"), "{name}");
        assert_eq!(header("X-Outliers-Low"), case.get("outliers_low"), "{name}");
        assert_eq!(header("X-Outliers-High"), case.get("outliers_high"), "{name}");
        if case.gem_sum_exact() {
            assert_eq!(header("X-Mean"), to_s("mean"), "{name}");
            assert_eq!(header("X-Std-Dev"), to_s("std_dev"), "{name}");
        }
    }
}

#[test]
fn last_data_recv_headers_are_the_watchers_rounded_from_two_samples() {
    for case in &CASES {
        let name = case.name;
        let agg = case.aggregate();
        let watcher = x_headers(&agg, Style::Watcher);
        let ldr = x_headers(&agg, Style::LastDataRecv);
        if agg.count() <= 1 {
            assert_eq!(ldr, watcher[..1], "{name}");
            continue;
        }
        let rounded = |v: f64| (v.round() as i64).to_string();
        for (i, ((key, ours), (wkey, theirs))) in ldr.iter().zip(&watcher).enumerate() {
            assert_eq!(key, wkey, "{name}");
            match i {
                3 => assert_eq!(*ours, rounded(agg.mean()), "{name}"),
                4 => assert_eq!(*ours, rounded(agg.std_dev()), "{name}"),
                _ => assert_eq!(ours, theirs, "{name}"),
            }
        }
        assert_eq!(ldr.len(), watcher.len(), "{name}");
    }
}
