//! Reading `raindrops recycle --metrics-listen` in the recycling tests: a sample's value and the
//! recycling gauges over a run.

use std::net::SocketAddr;

use crate::serve::get;

/// `raindrops_recycle_recycling` and `_max` over the scrapes of a run.
pub(crate) struct RecyclingGauges {
    addr: SocketAddr,
    /// The most `raindrops_recycle_recycling` seen, and the scrape that showed it.
    most: (f64, String),
    /// The last scrape's `raindrops_recycle_recycling_max` and text.
    max: (f64, String),
    scrapes: usize,
}

impl RecyclingGauges {
    pub(crate) fn new(addr: SocketAddr) -> RecyclingGauges {
        RecyclingGauges { addr, most: (0.0, String::new()), max: (0.0, String::new()), scrapes: 0 }
    }

    /// One scrape: both gauges must be there.
    #[track_caller]
    pub(crate) fn scrape(&mut self) {
        let (status, text) = get(self.addr, "/metrics").expect("GET /metrics");
        assert_eq!(status, 200, "{text}");
        let now = value(&text, "raindrops_recycle_recycling");
        let max = value(&text, "raindrops_recycle_recycling_max");
        let (Some(now), Some(max)) = (now, max) else { panic!("no recycling gauges:\n{text}") };
        if now > self.most.0 {
            self.most = (now, text.clone());
        }
        self.max = (max, text);
        self.scrapes += 1;
    }

    /// Never more than `k` recycling in any scrape, and the most ever (the last scrape's
    /// `_max`, which recycles happened to raise) in 1..=k.
    #[track_caller]
    pub(crate) fn check(&self, k: u16) {
        let k = f64::from(k);
        assert!(self.most.0 <= k, "{} recycling, K = {k}:\n{}", self.most.0, self.most.1);
        assert!((1.0..=k).contains(&self.max.0), "max {}, K = {k}:\n{}", self.max.0, self.max.1);
        eprintln!(
            "recycling gauge: at most {} in {} scrapes, max {}",
            self.most.0, self.scrapes, self.max.0
        );
    }
}

/// The value of `series` (a name and its labels, as written) in `text`.
pub(crate) fn value(text: &str, series: &str) -> Option<f64> {
    let prefix = format!("{series} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)?.parse().ok())
}
