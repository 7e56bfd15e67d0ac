//! [`Shared`]: what every clone of the layer and its services share.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ipnet::IpNet;
use raindrops::{SharedAggregate, Workers};

use super::stats::{Counters, HttpStats, Stripe};
use crate::listeners::Listeners;

/// What every clone of the layer and its services share.
#[derive(Clone)]
pub(super) struct Shared {
    /// This worker's rows: one, or (a single-process layer) one per CPU, so that the threads
    /// of a multi-threaded runtime do not all count in the same cache lines.
    pub(super) stripes: Vec<Arc<Stripe>>,
    /// Every worker's rows, summed by the endpoint.
    pub(super) workers: Workers<HttpStats>,
    pub(super) path: String,
    pub(super) json_path: String,
    pub(super) metrics_path: String,
    pub(super) extra_metrics_path: Option<String>,
    pub(super) allow: Vec<IpNet>,
    pub(super) listeners: Option<Arc<dyn Listeners>>,
    pub(super) counters: Option<Arc<dyn Counters>>,
    pub(super) accept_waits: Option<SharedAggregate>,
}

impl Shared {
    /// The stripe the current thread counts in: threads take stripes round-robin, once.
    #[inline]
    pub(super) fn stripe(&self) -> &Arc<Stripe> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            // Relaxed: any distinct-enough number will do.
            static THREAD: usize = NEXT.fetch_add(1, Ordering::Relaxed);
        }
        &self.stripes[THREAD.with(|t| *t) % self.stripes.len()]
    }
}
