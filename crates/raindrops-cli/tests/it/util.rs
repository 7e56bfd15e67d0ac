//! Helpers: the binary under test, framed comparisons, and the Prometheus parser.

use std::io::Write;
use std::process::{Command, Stdio};

/// Path of the `raindrops` binary cargo built for these tests.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_raindrops");

/// `raindrops` as built by cargo for this test run.
pub(crate) fn raindrops() -> assert_cmd::Command {
    assert_cmd::Command::new(BIN)
}

/// `raindrops` run in `dir` (give each test its own `TempDir`).
pub(crate) fn raindrops_in(dir: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = raindrops();
    cmd.current_dir(dir);
    cmd
}

/// Asserts two texts are equal, printing both framed when they are not.
#[track_caller]
pub(crate) fn assert_text(expected: &str, actual: &str) {
    if expected != actual {
        panic!(
            "\n--- expected ---\n{expected}--- actual ---\n{actual}--- end ---\n\
             (first difference at byte {})",
            expected.bytes().zip(actual.bytes()).take_while(|(a, b)| a == b).count()
        );
    }
}

/// Parses Prometheus text exposition with the official Python client's parser and returns
/// `name{labels} value` lines, sorted (`type` lines as `# name type`).
///
/// Needs Debian's `python3-prometheus-client` (`.ci/run` installs it).
pub(crate) fn parse_prometheus(text: &str) -> Vec<String> {
    const SCRIPT: &str = r##"
import sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    out.append("# %s %s" % (family.name, family.type))
    for s in family.samples:
        labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
        out.append("%s{%s} %s" % (s.name, labels, s.value))
print("\n".join(sorted(out)))
"##;
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run /usr/bin/python3 (apt-get install python3-prometheus-client)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the Prometheus parser rejected the output:\n{}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().lines().map(str::to_owned).collect()
}
