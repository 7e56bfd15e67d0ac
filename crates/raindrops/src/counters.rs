/*!
Named counters: the [`counters!`](crate::counters!) macro, Ruby raindrops' `Raindrops::Struct`.

A `counters!` struct is a row of named [`Slot`]s. It lives alone in its own segment
(`new`/`create`/`open`), or as one worker's row in a [`Workers`](crate::Workers) segment.
*/

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::drops::Drops;
use crate::segment::{Layout, SegmentError, SegmentErrorKind, Slot};

/// Whether a field only goes up or tracks something in flight.
///
/// The distinction matters when a worker dies: its counters' totals must survive (they are
/// folded into the retired row), while its gauges must vanish (a request it was handling is no
/// longer in flight).
///
/// ```
/// assert_eq!(raindrops::Kind::Counter.as_str(), "counter");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Monotonic: requests served, bytes written.
    Counter,
    /// In flight: requests being handled, responses being written.
    Gauge,
}

impl Kind {
    /// `"counter"` or `"gauge"`, as in the Prometheus `# TYPE` line.
    ///
    /// ```
    /// assert_eq!(raindrops::Kind::Gauge.as_str(), "gauge");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named field of a counters struct, as recorded in a segment's header.
///
/// ```
/// use raindrops::{Field, Kind};
///
/// const CALLING: Field = Field::new("calling", Kind::Gauge);
/// assert_eq!(CALLING.name, "calling");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// The name: ASCII letters, digits and `_`, not starting with a digit.
    pub name: Cow<'static, str>,
    /// Counter or gauge.
    pub kind: Kind,
}

impl Field {
    /// A field with a static name.
    ///
    /// ```
    /// let field = raindrops::Field::new("requests", raindrops::Kind::Counter);
    /// assert_eq!(field.kind, raindrops::Kind::Counter);
    /// ```
    pub const fn new(name: &'static str, kind: Kind) -> Self {
        Field { name: Cow::Borrowed(name), kind }
    }
}

/// The fields of a counters struct; implemented by [`counters!`](crate::counters!).
///
/// ```
/// raindrops::counters! {
///     /// Stats of an HTTP server.
///     pub struct Http {
///         /// Requests inside the app.
///         calling: gauge,
///         /// Requests served.
///         requests: counter,
///     }
/// }
/// use raindrops::Schema;
/// assert_eq!(Http::FIELDS.len(), 2);
/// ```
pub trait Schema: Sized {
    /// The fields, in declaration order.
    const FIELDS: &'static [Field];

    /// Wraps a row of at least `FIELDS.len()` slots.
    fn from_row(row: Row) -> Self;

    /// The row behind this struct.
    fn row(&self) -> &Row;
}

/// A handle to a run of slots in a shared segment: one counters struct, or one worker's row.
///
/// Cloning a `Row` is cheap (the segment is reference-counted) and the clone updates the same
/// memory, so a row can be handed to every thread of a worker.
///
/// ```
/// raindrops::counters! { struct Stats { hits: counter } }
/// let stats = Stats::new()?;
/// use raindrops::Schema;
/// assert_eq!(stats.row().len(), 1);
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
#[derive(Clone)]
pub struct Row {
    drops: Arc<Drops>,
    base: usize,
    len: usize,
}

impl Row {
    pub(crate) fn new(drops: Arc<Drops>, base: usize, len: usize) -> Self {
        debug_assert!(base + len <= drops.len());
        Row { drops, base, len }
    }

    /// The slot of field `index`.
    ///
    /// # Panics
    ///
    /// When `index >= len()` (the macro's accessors never do that).
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// use raindrops::Schema;
    /// let stats = Stats::new()?;
    /// stats.row().slot(0).incr();
    /// assert_eq!(stats.hits().get(), 1);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    #[inline]
    pub fn slot(&self, index: usize) -> &Slot {
        assert!(index < self.len, "field index {index} out of range for a row of {}", self.len);
        match self.drops.slot(self.base + index) {
            Some(slot) => slot,
            // `Row::new` checked that the row fits in the segment.
            None => unreachable!("row extends past its segment"),
        }
    }

    /// The number of slots in the row.
    ///
    /// ```
    /// raindrops::counters! { struct Two { a: counter, b: gauge } }
    /// use raindrops::Schema;
    /// assert_eq!(Two::new()?.row().len(), 2);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the row has no slots.
    ///
    /// ```
    /// raindrops::counters! { struct One { a: counter } }
    /// use raindrops::Schema;
    /// assert!(!One::new()?.row().is_empty());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The segment the row lives in.
    ///
    /// ```
    /// raindrops::counters! { struct One { a: counter } }
    /// use raindrops::Schema;
    /// assert!(One::new()?.row().drops().path().is_none());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn drops(&self) -> &Drops {
        &self.drops
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values: Vec<u64> = (0..self.len).map(|i| self.slot(i).get()).collect();
        f.debug_struct("Row").field("base", &self.base).field("values", &values).finish()
    }
}

/// The layout of a standalone counters struct: its named fields, no rows.
fn single_layout<S: Schema>() -> Layout {
    Layout { rows: 0, row_width: 0, fields: S::FIELDS.to_vec() }
}

/// Checks that a segment's recorded fields are exactly `expected`.
pub(crate) fn check_fields(drops: &Drops, expected: &[Field]) -> Result<(), SegmentError> {
    if drops.fields() == expected {
        return Ok(());
    }
    let list = |fields: &[Field]| {
        fields.iter().map(|f| format!("{}:{}", f.kind, f.name)).collect::<Vec<_>>().join(", ")
    };
    Err(SegmentError::new(
        drops.path(),
        SegmentErrorKind::SchemaMismatch { expected: list(expected), found: list(drops.fields()) },
    ))
}

/// `S` in its own anonymous segment; used by [`counters!`](crate::counters!)'s `new`.
#[doc(hidden)]
pub fn new_anonymous<S: Schema>() -> Result<S, SegmentError> {
    let drops = Drops::anonymous_with(S::FIELDS.len(), single_layout::<S>())?;
    Ok(S::from_row(Row::new(Arc::new(drops), 0, S::FIELDS.len())))
}

/// `S` in a new segment file; used by [`counters!`](crate::counters!)'s `create`.
#[doc(hidden)]
pub fn create_file<S: Schema>(path: &Path) -> Result<S, SegmentError> {
    let drops = Drops::create_with(path, S::FIELDS.len(), single_layout::<S>())?;
    Ok(S::from_row(Row::new(Arc::new(drops), 0, S::FIELDS.len())))
}

/// `S` over an existing segment file; used by [`counters!`](crate::counters!)'s `open`.
#[doc(hidden)]
pub fn open_file<S: Schema>(path: &Path) -> Result<S, SegmentError> {
    let drops = Drops::open(path)?;
    check_fields(&drops, S::FIELDS)?;
    if drops.segment().layout().rows != 0 || drops.len() < S::FIELDS.len() {
        return Err(SegmentError::new(
            Some(path),
            SegmentErrorKind::Corrupt {
                reason: "a workers segment, not a single counters struct".into(),
            },
        ));
    }
    Ok(S::from_row(Row::new(Arc::new(drops), 0, S::FIELDS.len())))
}

/// The `(name, value)` pairs of `s`, in declaration order.
#[doc(hidden)]
pub fn values<S: Schema>(s: &S) -> impl Iterator<Item = (&'static str, u64)> + '_ {
    S::FIELDS.iter().enumerate().map(|(i, field)| (field.name.as_ref(), s.row().slot(i).get()))
}

/// The `name => value` map of `s`.
#[doc(hidden)]
pub fn to_map<S: Schema>(s: &S) -> BTreeMap<&'static str, u64> {
    values(s).collect()
}

/// Declares a struct of named shared counters: Ruby raindrops' `Raindrops::Struct`.
///
/// Each field is declared `counter` (monotonic) or `gauge` (in-flight); each gets an accessor
/// returning its [`Slot`](crate::Slot), on which `incr`, `decr`, `add`, `sub`, `get` and `set`
/// work lock-free across forked processes. The struct gets:
///
/// * `new()`: its own anonymous shared segment, inherited by `fork`;
/// * `create(path)` / `open(path)`: a file-backed segment whose header records the fields, so
///   `raindrops dump FILE` can print them and `open` refuses a file with other fields;
/// * `iter()` over `(name, value)` pairs in declaration order, and `to_map()`;
/// * an implementation of [`Schema`](crate::Schema), so it can be the row type of
///   [`Workers`](crate::Workers).
///
/// ```
/// raindrops::counters! {
///     /// What an HTTP worker is doing.
///     pub struct Http {
///         /// Requests inside the app.
///         calling: gauge,
///         /// Responses whose body is being written.
///         writing: gauge,
///         /// Requests served.
///         requests: counter,
///     }
/// }
///
/// let http = Http::new()?;
/// http.calling().incr();
/// http.requests().add(2);
/// assert_eq!(http.iter().collect::<Vec<_>>(), [("calling", 1), ("writing", 0), ("requests", 2)]);
/// assert_eq!(http.to_map()["requests"], 2);
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
#[macro_export]
macro_rules! counters {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $kind:ident ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        $vis struct $name {
            row: $crate::Row,
        }

        impl $crate::Schema for $name {
            const FIELDS: &'static [$crate::Field] = &[
                $( $crate::Field::new(stringify!($field), $crate::counters!(@kind $kind)) ),*
            ];

            fn from_row(row: $crate::Row) -> Self {
                $name { row }
            }

            fn row(&self) -> &$crate::Row {
                &self.row
            }
        }

        #[allow(dead_code)]
        impl $name {
            $crate::counters!(@accessors $vis, 0usize; $( $(#[$fmeta])* $field ),*);

            /// A new set of these counters in anonymous shared memory, inherited by `fork`.
            $vis fn new() -> ::std::result::Result<Self, $crate::SegmentError> {
                $crate::__private::new_anonymous::<Self>()
            }

            /// A new file-backed set of these counters (mode 0600), replacing any file at `path`.
            $vis fn create(
                path: impl ::std::convert::AsRef<::std::path::Path>,
            ) -> ::std::result::Result<Self, $crate::SegmentError> {
                $crate::__private::create_file::<Self>(path.as_ref())
            }

            /// Maps an existing file of these counters; a file with other fields is an error.
            $vis fn open(
                path: impl ::std::convert::AsRef<::std::path::Path>,
            ) -> ::std::result::Result<Self, $crate::SegmentError> {
                $crate::__private::open_file::<Self>(path.as_ref())
            }

            /// `(name, value)` pairs in declaration order.
            $vis fn iter(&self) -> impl ::std::iter::Iterator<Item = (&'static str, u64)> + '_ {
                $crate::__private::values(self)
            }

            /// The values by name.
            $vis fn to_map(&self) -> ::std::collections::BTreeMap<&'static str, u64> {
                $crate::__private::to_map(self)
            }
        }
    };
    (@kind counter) => { $crate::Kind::Counter };
    (@kind gauge) => { $crate::Kind::Gauge };
    (@kind $other:ident) => {
        compile_error!(concat!("unknown field kind `", stringify!($other), "`: use `counter` or `gauge`"))
    };
    (@accessors $vis:vis, $index:expr; ) => {};
    (@accessors $vis:vis, $index:expr; $(#[$fmeta:meta])* $field:ident $(, $(#[$rmeta:meta])* $rest:ident)*) => {
        $(#[$fmeta])*
        #[inline]
        $vis fn $field(&self) -> &$crate::Slot {
            self.row.slot($index)
        }
        $crate::counters!(@accessors $vis, $index + 1usize; $( $(#[$rmeta])* $rest ),*);
    };
}

#[cfg(test)]
mod tests {
    crate::counters! {
        struct Pair {
            hits: counter,
            busy: gauge,
        }
    }

    #[test]
    fn file_round_trip_and_schema_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pair");
        let pair = Pair::create(&path).unwrap();
        pair.hits().add(3);
        pair.busy().incr();
        let again = Pair::open(&path).unwrap();
        assert_eq!(again.iter().collect::<Vec<_>>(), [("hits", 3), ("busy", 1)]);

        crate::counters! { struct Other { hits: counter, idle: gauge } }
        let err = Other::open(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: segment holds other counters: expected [counter:hits, gauge:idle], \
                 found [counter:hits, gauge:busy]",
                path.display()
            )
        );
    }
}
