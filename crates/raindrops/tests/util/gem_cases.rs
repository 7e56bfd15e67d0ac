//! The Ruby `aggregate` gem's own outputs, committed in `tests/fixtures/aggregate/` by
//! `generate.rb`: shared by the core's `Aggregate` tests and raindrops-http's `X-*` headers
//! tests (`#[path]`-included there).
#![allow(dead_code)]

use raindrops::Aggregate;

/// One committed gem case: `NAME.stats` (inputs and statistics) and
/// `NAME.txt` (the gem's `to_s`).
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) stats: &'static str,
    pub(crate) text: &'static str,
}

macro_rules! cases {
    ($($name:literal),* $(,)?) => {
        [$(Case {
            name: $name,
            stats: include_str!(concat!("../fixtures/aggregate/", $name, ".stats")),
            text: include_str!(concat!("../fixtures/aggregate/", $name, ".txt")),
        }),*]
    };
}

pub(crate) const CASES: [Case; 13] = cases![
    "empty",
    "one",
    "golden",
    "spread",
    "spread_wide",
    "negative",
    "all_outliers",
    "extremes",
    "big_counts",
    "linear",
    "linear_negative",
    "linear_last_bucket",
    "linear_misaligned",
];

impl Case {
    pub(crate) fn get(&self, key: &str) -> &'static str {
        self.stats
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("{}: no {key}", self.name))
    }

    pub(crate) fn int(&self, key: &str) -> i64 {
        self.get(key).parse().unwrap()
    }

    pub(crate) fn option(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            "nil" => None,
            v => Some(v.parse().unwrap()),
        }
    }

    /// A float written as `to_s 0xBITS`.
    pub(crate) fn float(&self, key: &str) -> f64 {
        let (_, bits) = self.get(key).split_once(" 0x").unwrap();
        f64::from_bits(u64::from_str_radix(bits, 16).unwrap())
    }

    pub(crate) fn values(&self) -> Vec<i64> {
        self.get("values").split_whitespace().map(|v| v.parse().unwrap()).collect()
    }

    pub(crate) fn aggregate(&self) -> Aggregate {
        let mut aggregate = match self.get("linear") {
            "none" => Aggregate::new(),
            spec => {
                let args: Vec<i64> = spec.split(' ').map(|v| v.parse().unwrap()).collect();
                Aggregate::linear(args[0], args[1], args[2]).unwrap()
            }
        };
        aggregate.extend(self.values());
        aggregate
    }

    pub(crate) fn rendered(&self, aggregate: &Aggregate) -> String {
        match self.get("columns") {
            "default" => aggregate.to_string(),
            columns => aggregate.render(columns.parse().unwrap()).to_string(),
        }
    }

    /// Whether the gem's running Float sum of the values was exact.
    pub(crate) fn gem_sum_exact(&self) -> bool {
        let mut partial = 0i128;
        self.values().into_iter().all(|v| {
            partial += i128::from(v);
            partial.unsigned_abs() <= 1 << 53
        })
    }
}
