//! [`StreamSlots`]: the cap on streamed responses.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A cap on responses streamed at once (the Watcher's `/tail`), shared by clones: a streaming
/// endpoint takes a [`StreamSlot`] before it starts and answers 503 when none is left; the
/// slot is given back when the response body is dropped.
///
/// ```
/// let slots = raindrops_http::server::StreamSlots::new(1);
/// let first = slots.try_acquire().expect("one slot");
/// assert!(slots.try_acquire().is_none());
/// drop(first);
/// assert_eq!(slots.in_use(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct StreamSlots {
    max: usize,
    used: Arc<AtomicUsize>,
}

impl StreamSlots {
    /// `max` slots, none in use.
    ///
    /// ```
    /// assert_eq!(raindrops_http::server::StreamSlots::new(4).max(), 4);
    /// ```
    pub fn new(max: usize) -> Self {
        StreamSlots { max, used: Arc::default() }
    }

    /// How many streams may run at once.
    ///
    /// ```
    /// assert_eq!(raindrops_http::server::StreamSlots::new(0).max(), 0);
    /// ```
    pub fn max(&self) -> usize {
        self.max
    }

    /// How many slots are taken now.
    ///
    /// ```
    /// let slots = raindrops_http::server::StreamSlots::new(2);
    /// let _slot = slots.try_acquire();
    /// assert_eq!(slots.in_use(), 1);
    /// ```
    pub fn in_use(&self) -> usize {
        // Relaxed: a lone counter, read for display.
        self.used.load(Ordering::Relaxed)
    }

    /// A slot, or `None` when all are taken.
    ///
    /// ```
    /// assert!(raindrops_http::server::StreamSlots::new(0).try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<StreamSlot> {
        // Relaxed: a lone counter; the update is atomic, nothing else is published by it.
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used < self.max).then_some(used + 1)
            })
            .ok()?;
        Some(StreamSlot(Arc::clone(&self.used)))
    }
}

/// One taken stream slot, given back on drop; see [`StreamSlots`].
#[derive(Debug)]
pub struct StreamSlot(Arc<AtomicUsize>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        // Relaxed: see `try_acquire`.
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
