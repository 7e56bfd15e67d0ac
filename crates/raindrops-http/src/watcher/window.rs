//! [`Window`]: the spans one may look back over (1 min, 10 min, 1 h), as the pages' `?window=`
//! names them.

use std::time::Duration;

/// How far back the index's sparklines and peaks, or a chart, look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Window {
    Minute,
    TenMinutes,
    Hour,
}

impl Window {
    pub(super) const ALL: [Window; 3] = [Window::Minute, Window::TenMinutes, Window::Hour];

    /// As in the query string.
    pub(super) fn key(self) -> &'static str {
        match self {
            Window::Minute => "1m",
            Window::TenMinutes => "10m",
            Window::Hour => "1h",
        }
    }

    /// For people.
    pub(super) fn label(self) -> &'static str {
        match self {
            Window::Minute => "1 min",
            Window::TenMinutes => "10 min",
            Window::Hour => "1 h",
        }
    }

    pub(super) fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Window::Minute => 60,
            Window::TenMinutes => 600,
            Window::Hour => 3600,
        })
    }
}
