//! Golden files: every endpoint's and command's output, checked in under a crate's
//! `tests/golden/`, compared byte for byte, and read by the outside parsers that scrape it.
//!
//! * [`assert_golden!`](crate::assert_golden) compares an output with its file; run the tests
//!   with `RAINDROPS_BLESS=1` to (re)write the files instead, then review the diff:
//!   `RAINDROPS_BLESS=1 cargo test -p raindrops-http --test golden`.
//! * [`Filter`]: what changes from run to run (ports, temporary paths, times) is replaced by a
//!   placeholder before comparing; each test lists its replacements, so a golden file says
//!   `127.0.0.1:PORT` where the run had `127.0.0.1:41873`.
//! * [`check_openmetrics`] and [`check_prometheus`] run Prometheus' own `promtool check
//!   metrics` (Debian `prometheus`) and Python's `prometheus_client` parsers (Debian
//!   `python3-prometheus-client`) on an output; each skips with one line when its program is
//!   missing (see [`require_external!`](crate::require_external)).
//!
//! ```
//! use raindrops_test_support::golden::Filter;
//!
//! let filter = Filter::new().replace("41873", "PORT").between("time ", "\n", "TIME");
//! assert_eq!(filter.apply("127.0.0.1:41873 time 17.5\n"), "127.0.0.1:PORT time TIME\n");
//! ```

use std::path::Path;

use crate::external::PROMTOOL;
use crate::prometheus::{self, Parser};

/// The environment variable that makes [`assert_golden!`](crate::assert_golden) write the
/// golden files instead of comparing.
pub const BLESS: &str = "RAINDROPS_BLESS";

/// Compares `actual` with the golden file `name` under the calling crate's `tests/golden/`,
/// or writes it there when `RAINDROPS_BLESS=1`.
///
/// ```no_run
/// raindrops_test_support::assert_golden!("demo.txt", "calling: 0\n");
/// ```
#[macro_export]
macro_rules! assert_golden {
    ($name:expr, $actual:expr $(,)?) => {
        $crate::golden::compare(
            &::std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join($name),
            &$actual,
        )
    };
}

/// What [`assert_golden!`](crate::assert_golden) does: compare `actual` with the file at
/// `path`, or write it when [`BLESS`] is `1`. Panics with both texts when they differ.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("golden-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("a.txt"), "x\n").unwrap();
/// raindrops_test_support::golden::compare(&dir.join("a.txt"), "x\n");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn compare(path: &Path, actual: &str) {
    if std::env::var(BLESS).as_deref() == Ok("1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        std::fs::write(path, actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("{}: {e} (run with {BLESS}=1 to write it)\nactual:\n{actual}", path.display())
    });
    if expected != actual {
        let first = expected.lines().zip(actual.lines()).position(|(e, a)| e != a);
        panic!(
            "{} differs from the output (first differing line: {}); run with {BLESS}=1 to \
             accept the output, then review the diff\n--- golden\n{expected}\n--- actual\n{actual}",
            path.display(),
            first.map_or("past the shorter end".to_owned(), |l| (l + 1).to_string()),
        );
    }
}

/// The documented normalisation of outputs before comparison: literal replacements (a port, a
/// temporary directory), then values between two markers (a time after `_seconds `), in order.
///
/// ```
/// use raindrops_test_support::golden::Filter;
///
/// let filter = Filter::new().replace("/tmp/.tmpX1", "DIR");
/// assert_eq!(filter.apply("addr=\"/tmp/.tmpX1/a.sock\""), "addr=\"DIR/a.sock\"");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Filter {
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Step {
    Replace(String, String),
    Between(String, String, String),
}

impl Filter {
    /// No replacements.
    ///
    /// ```
    /// assert_eq!(raindrops_test_support::golden::Filter::new().apply("a"), "a");
    /// ```
    pub fn new() -> Self {
        Filter::default()
    }

    /// Replaces every `from` with `to`.
    ///
    /// ```
    /// let filter = raindrops_test_support::golden::Filter::new().replace("a", "b");
    /// assert_eq!(filter.apply("aa"), "bb");
    /// ```
    pub fn replace(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.steps.push(Step::Replace(from.into(), to.into()));
        self
    }

    /// Replaces whatever lies between each `start` and the next `end` with `to`.
    ///
    /// ```
    /// let filter = raindrops_test_support::golden::Filter::new().between("\"t\":\"", "\"", "T");
    /// assert_eq!(filter.apply(r#"{"t":"2026-12-01T06:00:00Z","n":1}"#), r#"{"t":"T","n":1}"#);
    /// ```
    pub fn between(
        mut self,
        start: impl Into<String>,
        end: impl Into<String>,
        to: impl Into<String>,
    ) -> Self {
        self.steps.push(Step::Between(start.into(), end.into(), to.into()));
        self
    }

    /// `text` with every replacement made, in the order given.
    ///
    /// ```
    /// let filter = raindrops_test_support::golden::Filter::new().replace("1", "2").replace("2", "3");
    /// assert_eq!(filter.apply("1"), "3");
    /// ```
    pub fn apply(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for step in &self.steps {
            text = match step {
                Step::Replace(from, to) if !from.is_empty() => text.replace(from, to),
                Step::Replace(..) => text,
                Step::Between(start, end, to) => between(&text, start, end, to),
            };
        }
        text
    }
}

fn between(text: &str, start: &str, end: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(start) {
        let after = i + start.len();
        let Some(j) = rest[after..].find(end) else { break };
        out.push_str(&rest[..after]);
        out.push_str(to);
        rest = &rest[after + j..];
    }
    out.push_str(rest);
    out
}

/// `promtool check metrics` on `text`: it must parse (exit 1 is a parse error), and its lint
/// (exit 3) may only say two things, both about OpenMetrics read as the older text format:
/// an OpenMetrics counter's `NAME_total` sample has "no help text" (the older format wants
/// `# HELP NAME_total`), and `_milliseconds` should be seconds (names that predate the lint).
fn promtool(text: &str) {
    let promtool = crate::require_external!(PROMTOOL);
    let output = prometheus::pipe(&promtool, &["check", "metrics"], text);
    let lint = String::from_utf8_lossy(&output.stdout);
    let allowed = |line: &str| {
        line.contains("use base unit \"seconds\" instead of \"milliseconds\"")
            || line
                .split_once(' ')
                .is_some_and(|(name, rest)| name.ends_with("_total") && rest == "no help text")
    };
    assert!(
        matches!(output.status.code(), Some(0 | 3)) && lint.lines().all(allowed),
        "promtool check metrics rejected the output ({}):\n{lint}{}\n--- output\n{text}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// OpenMetrics text (ending in `# EOF`) passes `promtool check metrics` and both of
/// `prometheus_client`'s parsers (OpenMetrics and Prometheus).
///
/// ```no_run
/// raindrops_test_support::golden::check_openmetrics("# TYPE up gauge\nup 1\n# EOF\n");
/// ```
pub fn check_openmetrics(text: &str) {
    promtool(text);
    prometheus::parse(Parser::OpenMetrics, text);
    prometheus::parse(Parser::Prometheus, text);
}

/// Prometheus text (format 0.0.4) passes `promtool check metrics` and `prometheus_client`'s
/// Prometheus parser.
///
/// ```no_run
/// raindrops_test_support::golden::check_prometheus("# TYPE up gauge\nup 1\n");
/// ```
pub fn check_prometheus(text: &str) {
    promtool(text);
    prometheus::parse(Parser::Prometheus, text);
}
