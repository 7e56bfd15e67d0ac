//! [`RegisterError`]: why a metric could not be registered.

/// Why a metric could not be registered in the shared name table. The message names the metric.
///
/// ```
/// use raindrops_metrics::SharedRecorder;
///
/// let recorder = SharedRecorder::builder().capacity(1).build()?;
/// let _counter = recorder.counter(&metrics::Key::from_name("a"))?;
/// let err = recorder.counter(&metrics::Key::from_name("b")).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "cannot register metric `b`: the name table is full (1 entries); raise its capacity"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct RegisterError {
    key: String,
    kind: RegisterErrorKind,
}

/// What went wrong; see [`RegisterError::kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterErrorKind {
    /// Every entry of the name table is taken.
    TableFull {
        /// The table's entries.
        capacity: usize,
    },
    /// Every histogram of the pool is taken.
    HistogramsFull {
        /// The pool's histograms.
        histograms: usize,
    },
    /// The name and labels do not fit in an entry.
    KeyTooLong {
        /// The key's length in bytes, as `name{labels}`.
        len: usize,
        /// The most an entry holds.
        max: usize,
    },
    /// The name (and labels) are registered as another kind of metric.
    KindMismatch {
        /// The kind registered first.
        registered: &'static str,
        /// The kind asked for.
        wanted: &'static str,
    },
}

impl RegisterError {
    pub(crate) fn new(key: &str, kind: RegisterErrorKind) -> Self {
        RegisterError { key: key.to_owned(), kind }
    }

    /// The metric, as `name` or `name{labels}`.
    ///
    /// ```
    /// let recorder = raindrops_metrics::SharedRecorder::builder().capacity(0).build()?;
    /// let err = recorder.gauge(&metrics::Key::from_parts("g", &[("a", "1")])).unwrap_err();
    /// assert_eq!(err.key(), "g{a=\"1\"}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What went wrong.
    ///
    /// ```
    /// use raindrops_metrics::{RegisterErrorKind, SharedRecorder};
    /// let recorder = SharedRecorder::builder().histograms(0).build()?;
    /// let err = recorder.histogram(&metrics::Key::from_name("h")).unwrap_err();
    /// assert_eq!(err.kind(), &RegisterErrorKind::HistogramsFull { histograms: 0 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> &RegisterErrorKind {
        &self.kind
    }

    fn message(&self) -> String {
        let key = &self.key;
        match &self.kind {
            RegisterErrorKind::TableFull { capacity } => format!(
                "cannot register metric `{key}`: the name table is full ({capacity} entries); \
                 raise its capacity"
            ),
            RegisterErrorKind::HistogramsFull { histograms } => format!(
                "cannot register histogram `{key}`: all {histograms} shared histograms are taken; \
                 raise their number"
            ),
            RegisterErrorKind::KeyTooLong { len, max } => format!(
                "cannot register metric `{key}`: name and labels take {len} bytes, more than {max}"
            ),
            RegisterErrorKind::KindMismatch { registered, wanted } => {
                format!("metric `{key}` is already registered as a {registered}, not a {wanted}")
            }
        }
    }
}
