//! [`SharedRecorder`]: the `metrics` recorder, its builder and its handles.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata,
    SharedString, Unit,
};
use raindrops::{SegmentError, SharedAggregate, SharedWords};

use crate::error::{RegisterError, RegisterErrorKind};
use crate::key;
use crate::table::{Kind, Slot, Table};

/// Words per cache-line pair: each row of values starts on one.
const LINE_WORDS: usize = 16;

/// A `metrics` recorder whose counters, gauges and histograms live in shared memory made before
/// `fork`, so every worker's updates are summed by the exporter of any process.
///
/// * Each worker writes its own row of values ([`set_worker`](Self::set_worker) after `fork`;
///   row 0 until then), so workers never share a cache line; readers sum the rows.
/// * Counters add; `absolute(n)` raises this worker's share to at least `n`.
/// * Gauges are summed over workers: `set` sets this worker's share, `increment`/`decrement`
///   change it. A gauge that means the same in every worker (a version, a limit) should be set
///   by one worker only.
/// * Histograms record into a [`SharedAggregate`] from a fixed pool; values are stored as
///   integers of `1 / scale` (default `1e-6`: microseconds for seconds) and exported as an
///   OpenMetrics summary (p50, p90, p99, p99.9, count, sum) in the original unit.
/// * Names and labels are kept in a bounded shared name table: a key registered in any process,
///   before or after `fork`, is found by all. When the table (or the histogram pool) is full,
///   [`counter`](Self::counter) and friends return a [`RegisterError`]; through the `metrics`
///   macros the metric gets a no-op handle and a `tracing` warning (once per key and process),
///   never a panic.
/// * Descriptions (`describe_*!`) are kept in the process that made them: describe metrics
///   before `fork` so every exporter has them.
///
/// ```
/// use raindrops_metrics::SharedRecorder;
///
/// let recorder = SharedRecorder::builder().workers(2).build()?;
/// metrics::with_local_recorder(&recorder, || {
///     metrics::counter!("requests", "path" => "/").increment(3);
///     metrics::histogram!("latency_seconds").record(0.25);
/// });
/// let text = recorder.render();
/// assert!(text.contains("requests_total{path=\"/\"} 3\n"));
/// assert!(text.contains("latency_seconds{quantile=\"0.5\"} 0.25"));
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
#[derive(Clone)]
pub struct SharedRecorder {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for SharedRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.shared;
        f.debug_struct("SharedRecorder")
            .field("workers", &s.rows)
            .field("capacity", &s.table.capacity())
            .field("histograms", &s.histograms.len())
            .field("scale", &s.scale)
            .finish_non_exhaustive()
    }
}

/// The sizes of a [`SharedRecorder`]; see [`SharedRecorder::builder`].
#[derive(Debug, Clone)]
pub struct Builder {
    workers: usize,
    capacity: usize,
    histograms: usize,
    scale: f64,
}

impl Builder {
    /// Rows of values, one per worker (default 1).
    ///
    /// ```
    /// let recorder = raindrops_metrics::SharedRecorder::builder().workers(4).build()?;
    /// recorder.set_worker(3);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[must_use]
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Entries of the name table: distinct name-and-labels keys of every kind (default 1024).
    ///
    /// ```
    /// let _recorder = raindrops_metrics::SharedRecorder::builder().capacity(64).build()?;
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Histograms in the pool (default 32); each takes about 30 KiB of address space per
    /// worker, touched only as buckets are used.
    ///
    /// ```
    /// let _recorder = raindrops_metrics::SharedRecorder::builder().histograms(4).build()?;
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[must_use]
    pub fn histograms(mut self, histograms: usize) -> Self {
        self.histograms = histograms;
        self
    }

    /// Histogram values are stored as `round(value * scale)` in an `i64` (default `1e6`); a
    /// value that is not a number is dropped. Pick it so the values you record become
    /// integers of useful precision whose sums stay within ±9.2e18.
    ///
    /// ```
    /// // Byte sizes: integers already.
    /// let _recorder = raindrops_metrics::SharedRecorder::builder().scale(1.0).build()?;
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[must_use]
    pub fn scale(mut self, scale: f64) -> Self {
        self.scale = if scale.is_finite() && scale > 0.0 { scale } else { 1e6 };
        self
    }

    /// Maps the shared memory. Call it before `fork`.
    ///
    /// # Errors
    ///
    /// When the shared memory cannot be mapped.
    ///
    /// ```
    /// let _recorder = raindrops_metrics::SharedRecorder::builder().build()?;
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn build(self) -> Result<SharedRecorder, SegmentError> {
        let stride = self.capacity.next_multiple_of(LINE_WORDS);
        let values = SharedWords::new(stride.saturating_mul(self.workers))?;
        let histograms = (0..self.histograms)
            .map(|_| SharedAggregate::new(self.workers))
            .collect::<Result<_, _>>()?;
        Ok(SharedRecorder {
            shared: Arc::new(Shared {
                table: Table::new(self.capacity, self.histograms)?,
                values,
                stride,
                histograms,
                rows: self.workers,
                row: AtomicUsize::new(0),
                scale: self.scale,
                counters: Cache::default(),
                gauges: Cache::default(),
                histogram_handles: Cache::default(),
                descriptions: Mutex::default(),
            }),
        })
    }
}

/// A map keyed by `metrics::Key`, hashed by the hash the key carries already.
type Cache<H> = RwLock<HashMap<Key, H, BuildHasherDefault<KeyHasher>>>;

/// Passes a `Key`'s precomputed hash through (`Key`'s `Hash` writes exactly one `u64`).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// Everything behind a [`SharedRecorder`]: the shared memory, and this process's row, handles
/// and descriptions.
pub(crate) struct Shared {
    pub(crate) table: Table,
    /// `rows` runs of `stride` words: row-major, so a worker's values share lines only with
    /// each other.
    values: SharedWords,
    stride: usize,
    pub(crate) histograms: Vec<SharedAggregate>,
    pub(crate) rows: usize,
    /// This process's row (process memory: each forked worker sets its own).
    row: AtomicUsize,
    pub(crate) scale: f64,
    counters: Cache<Counter>,
    gauges: Cache<Gauge>,
    histogram_handles: Cache<Histogram>,
    /// Help texts by sanitized name.
    pub(crate) descriptions: Mutex<HashMap<String, String>>,
}

impl Shared {
    /// This process's value word of entry `index`.
    #[inline]
    fn word(&self, index: usize) -> &AtomicU64 {
        // Relaxed: the row is this process's own setting; nothing else is ordered by it.
        let row = self.row.load(Ordering::Relaxed);
        &self.values.words()[row * self.stride + index]
    }

    /// Entry `index`'s value words of every row.
    pub(crate) fn rows_of(&self, index: usize) -> impl Iterator<Item = &AtomicU64> {
        (0..self.rows).map(move |row| &self.values.words()[row * self.stride + index])
    }
}

impl SharedRecorder {
    /// A builder with the defaults: 1 worker, 1024 keys, 32 histograms, scale `1e6`.
    ///
    /// ```
    /// let recorder = raindrops_metrics::SharedRecorder::builder().workers(8).build()?;
    /// # let _ = recorder;
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn builder() -> Builder {
        Builder { workers: 1, capacity: 1024, histograms: 32, scale: 1e6 }
    }

    /// Makes this process write row `worker` from now on: call it in each worker right after
    /// `fork`. Handles made earlier follow.
    ///
    /// # Panics
    ///
    /// When `worker` is not below the number of workers it was built with.
    ///
    /// ```
    /// let recorder = raindrops_metrics::SharedRecorder::builder().workers(2).build()?;
    /// recorder.set_worker(1);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn set_worker(&self, worker: usize) {
        assert!(
            worker < self.shared.rows,
            "worker {worker} out of range for {} rows",
            self.shared.rows
        );
        // Relaxed: see `Shared::word`.
        self.shared.row.store(worker, Ordering::Relaxed);
    }

    fn register(&self, key: &Key, kind: Kind) -> Result<Slot, RegisterError> {
        let (encoded, name_len) = key::encode(key);
        let slot = self.shared.table.register(&encoded, name_len, kind)?;
        if kind == Kind::Histogram && slot.histogram.is_none() {
            let histograms = self.shared.histograms.len();
            return Err(RegisterError::new(
                &encoded,
                RegisterErrorKind::HistogramsFull { histograms },
            ));
        }
        Ok(slot)
    }

    /// A counter handle for `key`, registering it in the shared table if no process has.
    ///
    /// # Errors
    ///
    /// When the table is full, the key too long, or the key a gauge or histogram.
    ///
    /// ```
    /// let recorder = raindrops_metrics::SharedRecorder::builder().build()?;
    /// recorder.counter(&metrics::Key::from_name("jobs"))?.increment(2);
    /// assert!(recorder.render().contains("jobs_total 2\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counter(&self, key: &Key) -> Result<Counter, RegisterError> {
        let slot = self.register(key, Kind::Counter)?;
        Ok(Counter::from_arc(Arc::new(CounterCell {
            shared: Arc::clone(&self.shared),
            index: slot.index,
        })))
    }

    /// A gauge handle for `key`, registering it in the shared table if no process has.
    ///
    /// # Errors
    ///
    /// When the table is full, the key too long, or the key a counter or histogram.
    ///
    /// ```
    /// let recorder = raindrops_metrics::SharedRecorder::builder().build()?;
    /// recorder.gauge(&metrics::Key::from_name("busy"))?.set(1.5);
    /// assert!(recorder.render().contains("busy 1.5\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn gauge(&self, key: &Key) -> Result<Gauge, RegisterError> {
        let slot = self.register(key, Kind::Gauge)?;
        Ok(Gauge::from_arc(Arc::new(GaugeCell {
            shared: Arc::clone(&self.shared),
            index: slot.index,
        })))
    }

    /// A histogram handle for `key`, registering it in the shared table if no process has.
    ///
    /// # Errors
    ///
    /// When the table or the histogram pool is full, the key too long, or the key a counter
    /// or gauge.
    ///
    /// ```
    /// let recorder = raindrops_metrics::SharedRecorder::builder().build()?;
    /// recorder.histogram(&metrics::Key::from_name("wait_seconds"))?.record(0.5);
    /// assert!(recorder.render().contains("wait_seconds_count 1\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn histogram(&self, key: &Key) -> Result<Histogram, RegisterError> {
        let slot = self.register(key, Kind::Histogram)?;
        let pool = slot.histogram.unwrap_or(0);
        Ok(Histogram::from_arc(Arc::new(HistogramCell { shared: Arc::clone(&self.shared), pool })))
    }

    /// The handle of `key` from this process's cache, or a new one (a no-op handle and a
    /// `tracing` warning when registration fails), cached.
    fn cached<H: Clone>(
        &self,
        cache: impl Fn(&Shared) -> &Cache<H>,
        key: &Key,
        make: impl FnOnce(&Key) -> Result<H, RegisterError>,
        noop: impl FnOnce() -> H,
    ) -> H {
        let cache = cache(&self.shared);
        if let Some(handle) = cache.read().unwrap_or_else(PoisonError::into_inner).get(key) {
            return handle.clone();
        }
        let handle = make(key).unwrap_or_else(|err| {
            tracing::warn!("{err}; its updates are dropped");
            noop()
        });
        let mut map = cache.write().unwrap_or_else(PoisonError::into_inner);
        map.entry(key.clone()).or_insert(handle).clone()
    }

    fn describe(&self, name: &KeyName, description: SharedString) {
        let name = key::sanitize(name.as_str(), true);
        let mut descriptions =
            self.shared.descriptions.lock().unwrap_or_else(PoisonError::into_inner);
        descriptions.insert(name, description.into_owned());
    }
}

impl metrics::Recorder for SharedRecorder {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        self.describe(&key, description);
    }

    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        self.describe(&key, description);
    }

    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        self.describe(&key, description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.cached(|s| &s.counters, key, |k| self.counter(k), Counter::noop)
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.cached(|s| &s.gauges, key, |k| self.gauge(k), Gauge::noop)
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.cached(|s| &s.histogram_handles, key, |k| self.histogram(k), Histogram::noop)
    }
}

/// A counter: this process's word of its entry.
struct CounterCell {
    shared: Arc<Shared>,
    index: usize,
}

impl CounterFn for CounterCell {
    #[inline]
    fn increment(&self, value: u64) {
        // Relaxed: a lone counter; readers only sum.
        self.shared.word(self.index).fetch_add(value, Ordering::Relaxed);
    }

    fn absolute(&self, value: u64) {
        // Relaxed: as above.
        self.shared.word(self.index).fetch_max(value, Ordering::Relaxed);
    }
}

/// A gauge: an `f64` in this process's word of its entry.
struct GaugeCell {
    shared: Arc<Shared>,
    index: usize,
}

impl GaugeCell {
    fn update(&self, f: impl Fn(f64) -> f64) {
        // Relaxed: a lone value; the compare-and-swap loop keeps concurrent updates whole.
        let _ = self.shared.word(self.index).fetch_update(
            Ordering::Relaxed,
            Ordering::Relaxed,
            |bits| Some(f(f64::from_bits(bits)).to_bits()),
        );
    }
}

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.update(|old| old + value);
    }

    fn decrement(&self, value: f64) {
        self.update(|old| old - value);
    }

    fn set(&self, value: f64) {
        // Relaxed: as in `update`.
        self.shared.word(self.index).store(value.to_bits(), Ordering::Relaxed);
    }
}

/// A histogram: this process's row of its pooled aggregate.
struct HistogramCell {
    shared: Arc<Shared>,
    pool: usize,
}

impl HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        let scaled = (value * self.shared.scale).round();
        if scaled.is_nan() {
            return;
        }
        // `as` saturates at the i64 range.
        let row = self.shared.row.load(Ordering::Relaxed);
        self.shared.histograms[self.pool].record(row, scaled as i64);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any name and labels register (or fail with an error naming them) without a panic,
        /// and a registered counter is exported under its sanitized name.
        #[test]
        fn any_key_registers_or_errs(
            name in ".{0,40}",
            labels in proptest::collection::vec((".{0,8}", ".{0,16}"), 0..4),
        ) {
            let recorder = SharedRecorder::builder().capacity(4).histograms(1).build().unwrap();
            let key = Key::from_parts(name.clone(), labels.iter().map(|(k, v)| metrics::Label::new(k.clone(), v.clone())).collect::<Vec<_>>());
            match recorder.counter(&key) {
                Ok(counter) => {
                    counter.increment(7);
                    let family = key::sanitize(&name, true);
                    let family = family.strip_suffix("_total").unwrap_or(&family).to_owned();
                    let wanted = format!("# TYPE {family} counter\n");
                    prop_assert!(recorder.render().contains(&wanted));
                }
                Err(err) => prop_assert!(err.to_string().contains(&key::sanitize(&name, true))),
            }
            prop_assert!(recorder.histogram(&key).is_err(), "a counter's key is not a histogram");
        }
    }
}
