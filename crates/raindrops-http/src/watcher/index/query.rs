//! The index's query string: `?window=1m|10m|1h&sort=KEY&q=FILTER`, read leniently (anything
//! unknown is the default), so links and the scriptless form work alike.

use percent_encoding::percent_decode_str;

pub(super) use crate::watcher::window::Window;

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
