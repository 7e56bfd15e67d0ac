//! Active connections per worker and listener, in one shared-memory segment, and the
//! accepted connections' waits in the accept queue, a row per worker.

use std::os::fd::AsFd;
use std::sync::Arc;

use raindrops::{Drops, Recorder, SegmentError, SharedAggregate};

/// Active-connection gauges for `workers` rows × `listeners` columns, in an anonymous shared
/// mapping: create it before forking workers, and every worker counts in its own row (its own
/// cache lines) while any process reads the sums. Beside them, a [`SharedAggregate`] with a
/// row per worker holds how long each accepted connection waited in the accept queue
/// ([`accept_waits`](Self::accept_waits)).
///
/// ```
/// use raindrops_http::listeners::ConnectionCounts;
///
/// let counts = ConnectionCounts::new(2, 1)?;
/// let a = counts.counter(0, 0);
/// let b = counts.counter(1, 0);
/// a.enter();
/// b.enter();
/// b.enter();
/// assert_eq!(counts.active(0), 3);
/// counts.retire(1); // worker 1 died: its connections died with it
/// assert_eq!(counts.active(0), 1);
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ConnectionCounts {
    drops: Arc<Drops>,
    listeners: usize,
    waits: SharedAggregate,
}

impl ConnectionCounts {
    /// Gauges for `workers` workers and `listeners` listeners, all zero.
    ///
    /// # Errors
    ///
    /// When the shared mapping cannot be made (out of memory, or `workers × listeners` slots
    /// are more than a segment holds).
    ///
    /// ```
    /// let counts = raindrops_http::listeners::ConnectionCounts::new(4, 2)?;
    /// assert_eq!((counts.workers(), counts.listeners()), (4, 2));
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn new(workers: usize, listeners: usize) -> Result<Self, SegmentError> {
        // An overflowing product asks for more than any mapping holds: a Capacity error.
        let len = workers.saturating_mul(listeners);
        let waits = SharedAggregate::new(workers)?;
        Ok(ConnectionCounts { drops: Arc::new(Drops::new(len)?), listeners, waits })
    }

    /// How long the connections accepted by the [`CountingListener`](super::CountingListener)s
    /// of every worker waited in the accept queue, in milliseconds (see
    /// [`accept_wait`](super::accept_wait)): one row per worker, merged by
    /// [`snapshot`](SharedAggregate::snapshot). Kept when a worker is retired: it counts
    /// connections accepted, like a Prometheus histogram.
    ///
    /// ```
    /// let counts = raindrops_http::listeners::ConnectionCounts::new(2, 1)?;
    /// assert_eq!(counts.accept_waits().rows(), 2);
    /// assert_eq!(counts.accept_waits().snapshot().count, 0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn accept_waits(&self) -> &SharedAggregate {
        &self.waits
    }

    /// How many worker rows there are.
    ///
    /// ```
    /// assert_eq!(raindrops_http::listeners::ConnectionCounts::new(3, 1)?.workers(), 3);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn workers(&self) -> usize {
        self.drops.len().checked_div(self.listeners).unwrap_or(0)
    }

    /// How many listener columns there are.
    ///
    /// ```
    /// assert_eq!(raindrops_http::listeners::ConnectionCounts::new(3, 2)?.listeners(), 2);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn listeners(&self) -> usize {
        self.listeners
    }

    /// The gauge of `worker` for `listener`, to hand to a [`CountingListener`](super::CountingListener).
    ///
    /// # Panics
    ///
    /// When `worker` or `listener` is out of range (a programming error, like a slice index).
    ///
    /// ```
    /// let counts = raindrops_http::listeners::ConnectionCounts::new(1, 1)?;
    /// let counter = counts.counter(0, 0);
    /// counter.enter();
    /// assert_eq!(counts.active(0), 1);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn counter(&self, worker: usize, listener: usize) -> ActiveCounter {
        assert!(
            worker < self.workers() && listener < self.listeners,
            "counter({worker}, {listener}) of {} workers × {} listeners",
            self.workers(),
            self.listeners
        );
        ActiveCounter {
            drops: Arc::clone(&self.drops),
            index: worker * self.listeners + listener,
            waits: self.waits.recorder(worker),
        }
    }

    /// Active connections of `listener`, summed over every worker.
    ///
    /// # Panics
    ///
    /// When `listener` is out of range.
    ///
    /// ```
    /// let counts = raindrops_http::listeners::ConnectionCounts::new(2, 1)?;
    /// assert_eq!(counts.active(0), 0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn active(&self, listener: usize) -> u64 {
        assert!(listener < self.listeners, "listener {listener} of {}", self.listeners);
        (listener..self.drops.len()).step_by(self.listeners).map(|i| self.drops.get(i)).sum()
    }

    /// Zeroes every gauge of `worker`: call it when that worker has died (its connections are
    /// closed by the kernel with it). Out-of-range workers are ignored.
    ///
    /// ```
    /// let counts = raindrops_http::listeners::ConnectionCounts::new(1, 1)?;
    /// counts.counter(0, 0).enter();
    /// counts.retire(0);
    /// assert_eq!(counts.active(0), 0);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn retire(&self, worker: usize) {
        let start = worker.saturating_mul(self.listeners);
        for i in start..start.saturating_add(self.listeners).min(self.drops.len()) {
            self.drops.set(i, 0);
        }
    }
}

/// One worker's active-connection gauge for one listener; cheap to clone.
///
/// ```
/// let counts = raindrops_http::listeners::ConnectionCounts::new(1, 1)?;
/// let counter = counts.counter(0, 0);
/// counter.enter();
/// counter.leave();
/// assert_eq!(counts.active(0), 0);
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ActiveCounter {
    drops: Arc<Drops>,
    index: usize,
    waits: Recorder,
}

impl ActiveCounter {
    /// Counts one more connection.
    pub fn enter(&self) {
        self.drops.incr(self.index);
    }

    /// Counts one connection fewer.
    pub fn leave(&self) {
        self.drops.decr(self.index);
    }

    /// Records how long `stream`, just accepted, waited in the accept queue into this worker's
    /// row of [`ConnectionCounts::accept_waits`]; a stream without `TCP_INFO` (Unix) is not
    /// recorded.
    ///
    /// ```
    /// let counts = raindrops_http::listeners::ConnectionCounts::new(1, 1)?;
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (stream, _) = listener.accept()?;
    /// counts.counter(0, 0).record_wait(&stream);
    /// assert_eq!(counts.accept_waits().snapshot().count, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn record_wait(&self, stream: &impl AsFd) {
        super::accept_wait::record(&self.waits, stream);
    }
}
