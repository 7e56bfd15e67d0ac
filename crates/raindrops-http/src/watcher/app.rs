//! [`Watcher`]: the app's state (the sampler's memory, the tail slots, the hostname, the
//! rendered index), started by its builder; its handlers are in `pages.rs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::state::{self, State};
use super::tracked::Limits;
use crate::listeners::Listeners;
use crate::server::StreamSlots;

/// The Watcher app; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct Watcher {
    pub(super) state: Arc<State>,
    /// The cap on tails streamed at once; more get 503.
    pub(super) tails: StreamSlots,
    pub(super) hostname: Arc<str>,
    /// The index pages of the latest sample, each rendered once.
    pub(super) index: Arc<Mutex<super::page_cache::PageCache>>,
}

impl Watcher {
    /// Starts the sampler with the builder's settings.
    pub(super) fn start(
        listeners: Arc<dyn Listeners>,
        delay: Duration,
        limits: Limits,
        tails: StreamSlots,
    ) -> std::io::Result<Self> {
        let delay = delay.max(Duration::from_millis(10));
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        Ok(Watcher {
            state: state::start(listeners, delay, limits)?,
            tails,
            hostname: hostname.into(),
            index: Arc::default(),
        })
    }
}
