//! The layering of the crates whose files import one way (issue 15): `scripts/import-cycles.py`
//! finds no import cycle between their files and no source file over 600 lines.

use std::path::Path;
use std::process::Command;

use raindrops_test_support::external::PYTHON3;
use raindrops_test_support::require_external;

/// The crates held to it: all but raindrops-http, which joins once `exposition/` (its format
/// modules import `Snapshot` from `mod.rs`, which calls them) imports one way too.
const LAYERED: [&str; 6] = [
    "raindrops",
    "raindrops-prefork",
    "raindrops-killer",
    "raindrops-metrics",
    "raindrops-cli",
    "raindrops-test-support",
];

#[test]
fn layered_crates_have_no_import_cycle_and_no_file_over_600_lines() {
    let python = require_external!(PYTHON3);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut command = Command::new(python);
    command.arg(workspace.join("scripts/import-cycles.py")).arg("--check");
    for name in LAYERED {
        command.args(["--crate", name]);
    }
    let output = command.arg(&workspace).output().unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}{}", String::from_utf8_lossy(&output.stderr));
    assert!(report.contains("summary: 0 import cycles"), "{report}");
}
