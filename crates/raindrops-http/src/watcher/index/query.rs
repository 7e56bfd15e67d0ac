//! The index's query string: `?window=1m|10m|1h&sort=KEY&q=FILTER`, read leniently (anything
//! unknown is the default), so links and the scriptless form work alike.

use std::time::Duration;

use percent_encoding::percent_decode_str;

/// How far back the sparklines and peaks look.
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

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Query {
    pub(super) window: Window,
    /// A column's sort key (see `columns.rs`); `pressure` by default.
    pub(super) sort: &'static str,
    /// Rows whose address contains this (case-insensitive); empty: all.
    pub(super) filter: String,
}

impl Query {
    /// Parses `query` (without the `?`); `sorts` are the keys one may sort by.
    pub(super) fn parse(query: &str, sorts: &[&'static str]) -> Self {
        let mut parsed =
            Query { window: Window::TenMinutes, sort: "pressure", filter: String::new() };
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = value.replace('+', " ");
            let value = percent_decode_str(&value).decode_utf8_lossy();
            match key {
                "window" => {
                    if let Some(w) = Window::ALL.into_iter().find(|w| w.key() == value) {
                        parsed.window = w;
                    }
                }
                "sort" => {
                    if let Some(s) = sorts.iter().find(|s| **s == value) {
                        parsed.sort = s;
                    }
                }
                "q" => parsed.filter = value.trim().to_owned(),
                _ => {}
            }
        }
        parsed
    }

    /// Whether a listener named `text` passes the filter.
    pub(super) fn shows(&self, text: &str) -> bool {
        self.filter.is_empty() || text.to_lowercase().contains(&self.filter.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient() {
        let sorts = ["pressure", "active"];
        let q = Query::parse("window=1h&sort=active&q=%2Ftmp+x", &sorts);
        assert_eq!((q.window, q.sort, q.filter.as_str()), (Window::Hour, "active", "/tmp x"));
        let q = Query::parse("window=2d&sort=evil&q=%ZZ&&=", &sorts);
        assert_eq!((q.window, q.sort, q.filter.as_str()), (Window::TenMinutes, "pressure", "%ZZ"));
        assert!(q.shows("/tmp/%zz.sock") && !q.shows("127.0.0.1:80"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(query in ".*") {
            let _ = Query::parse(&query, &["pressure"]);
        }
    }
}
