//! Shared helpers: the binary under test and framed assertions.

use std::path::Path;

/// Path of the `raindrops` binary cargo built for these tests.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_raindrops");

/// An `assert_cmd` command for the binary, run in `dir` (give each test its own `TempDir`).
pub(crate) fn raindrops(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(BIN);
    cmd.current_dir(dir);
    cmd
}

/// Asserts equality, printing both sides in frames so whitespace differences show.
#[track_caller]
pub(crate) fn assert_framed(expected: &str, actual: &str) {
    if expected != actual {
        let bar = "-".repeat(60);
        panic!("\nexpected:\n{bar}\n{expected}{bar}\nactual:\n{bar}\n{actual}{bar}\n");
    }
}
