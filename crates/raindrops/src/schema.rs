//! The bottom of the core: what a counter is ([`Kind`]) and a named field of a row ([`Field`]).
//!
//! Segments record fields in their headers, counters structs and worker rows declare them; this
//! module depends on nothing else in the crate, so every layer above can use it.

use std::borrow::Cow;
use std::fmt;

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
