//! [`Activity`]: what a connection is doing and since when, read by its timer and by the cap.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// A connection's phase: waiting for its first request head, answering a request, or waiting
/// for the next (its head included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Head = 0,
    Busy = 1,
    Idle = 2,
}

/// The policy's timeouts, as a connection needs them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    pub(super) header_read: Duration,
    pub(super) idle: Duration,
}

/// The phase of a connection and the millisecond (since `born`) it began, in one word
/// (`ms << 2 | phase`), written by the connection's own task (hyper polls the service and
/// the body from it) and read by it and by the accept loop choosing a connection to evict;
/// `Relaxed` is enough: the word is the only thing read, a stale one at worst evicts a
/// connection that has just started a request (which then serves on, see
/// [`evicted`](Self::evicted)).
#[derive(Debug)]
pub(super) struct Activity {
    word: AtomicU64,
    born: Instant,
    /// Set when the accept loop has asked this connection to make room.
    evicting: AtomicBool,
    eviction: Notify,
}

impl Activity {
    /// A connection accepted at `born`, waiting for its first request head.
    pub(super) fn new(born: Instant) -> Self {
        Activity {
            word: AtomicU64::new(Phase::Head as u64),
            born,
            evicting: AtomicBool::new(false),
            eviction: Notify::new(),
        }
    }

    /// When the connection was accepted.
    pub(super) fn born(&self) -> Instant {
        self.born
    }

    fn phase(word: u64) -> Phase {
        match word & 3 {
            0 => Phase::Head,
            1 => Phase::Busy,
            _ => Phase::Idle,
        }
    }

    /// The current phase and when it began.
    fn now(&self) -> (Phase, Instant) {
        let word = self.word.load(Ordering::Relaxed);
        (Self::phase(word), self.born + Duration::from_millis(word >> 2))
    }

    /// The response body is gone: the connection waits for its next request.
    pub(super) fn idle(&self) {
        let ms = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX >> 2);
        self.word.store(ms << 2 | Phase::Idle as u64, Ordering::Relaxed);
    }

    /// A response is being made: no timeout applies until its body is dropped.
    pub(super) fn busy(&self) {
        self.word.store(Phase::Busy as u64, Ordering::Relaxed);
    }

    /// When the connection is to be closed, or `None` while a response is in progress.
    pub(super) fn deadline(&self, timeouts: &Timeouts) -> Option<Instant> {
        match self.now() {
            (Phase::Head, since) => Some(since + timeouts.header_read),
            (Phase::Busy, _) => None,
            (Phase::Idle, since) => Some(since + timeouts.idle),
        }
    }

    /// Since when the connection has been waiting for a request head, if it is (it may be
    /// evicted), and not already asked to make room.
    pub(super) fn waiting_since(&self) -> Option<Instant> {
        // Relaxed: a hint; see the type's docs.
        if self.evicting.load(Ordering::Relaxed) {
            return None;
        }
        match self.now() {
            (Phase::Busy, _) => None,
            (_, since) => Some(since),
        }
    }

    /// Asks the connection to close to make room for a new one.
    pub(super) fn evict(&self) {
        self.evicting.store(true, Ordering::Relaxed);
        self.eviction.notify_one();
    }

    /// Resolves when the connection has been asked to close and is not answering a request
    /// (one that began meanwhile is served, and the request to close forgotten).
    pub(super) async fn evicted(&self) {
        loop {
            self.eviction.notified().await;
            if self.now().0 != Phase::Busy {
                return;
            }
            self.evicting.store(false, Ordering::Relaxed);
        }
    }
}
