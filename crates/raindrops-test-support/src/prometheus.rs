//! Python's `prometheus_client` (Debian `python3-prometheus-client`) reading an exposition: the
//! one place tests run its parsers.
//!
//! [`parse`] returns what a parser read as sorted text lines, `# family type` for each family
//! and `name{labels} value` for each sample, or `None` (after one `skipped:` line) when the
//! package is missing, as [`require_external!`](crate::require_external) does.
//!
//! ```no_run
//! use raindrops_test_support::prometheus::{self, Parser};
//!
//! # fn a_test() {
//! let Some(lines) = prometheus::parse(Parser::Prometheus, "# TYPE up gauge\nup 1\n") else {
//!     return;
//! };
//! assert_eq!(lines, ["# up gauge", "up{} 1.0"]);
//! # }
//! ```

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::external::{self, PROMETHEUS_CLIENT};

/// Which of `prometheus_client`'s parsers reads the text.
///
/// ```
/// use raindrops_test_support::prometheus::Parser;
///
/// assert_eq!(Parser::OpenMetrics.module(), "prometheus_client.openmetrics.parser");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    /// The text format 0.0.4 parser, `prometheus_client.parser`.
    Prometheus,
    /// The OpenMetrics parser (the text must end in `# EOF`).
    OpenMetrics,
}

impl Parser {
    /// The Python module holding this parser's `text_string_to_metric_families`.
    ///
    /// ```
    /// use raindrops_test_support::prometheus::Parser;
    ///
    /// assert_eq!(Parser::Prometheus.module(), "prometheus_client.parser");
    /// ```
    pub fn module(self) -> &'static str {
        match self {
            Parser::Prometheus => "prometheus_client.parser",
            Parser::OpenMetrics => "prometheus_client.openmetrics.parser",
        }
    }
}

/// Reads `text` with `parser`: each family as `# name type`, each sample as
/// `name{k="v",...} value` (labels sorted, the value as a Python float), all lines sorted.
///
/// `None` when `python3-prometheus-client` is missing, after one line saying so (a panic
/// instead under `RAINDROPS_REQUIRE_EXTERNAL=1`; see [`external::require`]).
///
/// # Panics
///
/// When the parser rejects `text`, with its error and the text.
///
/// ```
/// use raindrops_test_support::prometheus::{self, Parser};
///
/// let text = "# TYPE up gauge\nup 1\n# EOF\n";
/// if let Some(lines) = prometheus::parse(Parser::OpenMetrics, text) {
///     assert_eq!(lines, ["# up gauge", "up{} 1.0"]);
/// }
/// ```
pub fn parse(parser: Parser, text: &str) -> Option<Vec<String>> {
    let python = external::require(&PROMETHEUS_CLIENT)?;
    let script = format!(
        r##"
import sys
from {module} import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    out.append("# %s %s" % (family.name, family.type))
    for s in family.samples:
        labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
        out.append("%s{{%s}} %s" % (s.name, labels, float(s.value)))
print("\n".join(sorted(out)))
"##,
        module = parser.module()
    );
    let output = pipe(&python, &["-c", &script], text);
    assert!(
        output.status.success(),
        "{} rejected the output:\n{}{}\n--- output\n{text}",
        parser.module(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect())
}

/// Runs `program args` with `input` on stdin and waits for it, capturing its stdout and stderr;
/// panics naming `program` when it cannot run.
pub(crate) fn pipe(program: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    child.stdin.take().expect("piped stdin").write_all(input.as_bytes()).expect("write stdin");
    child.wait_with_output().unwrap_or_else(|e| panic!("wait for {}: {e}", program.display()))
}
