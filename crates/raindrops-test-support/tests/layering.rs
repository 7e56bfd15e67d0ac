//! The crates' files import one way (issue 15): `scripts/import-cycles.py` finds no import
//! cycle between the files of any crate of the workspace and no source file over 600 lines.

use std::path::Path;
use std::process::Command;

use raindrops_test_support::external::PYTHON3;
use raindrops_test_support::require_external;

#[test]
fn no_import_cycle_and_no_file_over_600_lines_in_any_crate() {
    let python = require_external!(PYTHON3);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(python)
        .arg(workspace.join("scripts/import-cycles.py"))
        .arg("--check")
        .arg(&workspace)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}{}", String::from_utf8_lossy(&output.stderr));
    assert!(report.contains("summary: 0 import cycles"), "{report}");
}
