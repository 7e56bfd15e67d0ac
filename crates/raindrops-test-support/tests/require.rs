//! `require_external!` seen from outside: this test binary runs its own `inner` test again in
//! a child process, once skipping and once with `RAINDROPS_REQUIRE_EXTERNAL=1`.

use std::process::{Command, Output};

use raindrops_test_support::external::{ENV, Requirement};
use raindrops_test_support::require_external;

/// A program no machine has.
const NOWHERE: Requirement =
    Requirement::program("raindrops-no-such-program", "raindrops-no-such-package");

/// Set in the child only: `inner` does its work there and nothing in the parent run.
const INNER: &str = "RAINDROPS_TEST_SUPPORT_INNER";

#[test]
fn inner() {
    if std::env::var_os(INNER).is_none() {
        return;
    }
    let _ = require_external!(NOWHERE);
    panic!("ran past a missing requirement");
}

/// Runs `inner` alone with `ENV` set to `value`.
fn inner_with(value: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "inner", "--test-threads=1"])
        .env(INNER, "1")
        .env(ENV, value)
        .output()
        .unwrap()
}

/// Everything the child printed.
fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn a_missing_program_skips_with_one_line_past_the_capture() {
    for value in ["", "0"] {
        let out = inner_with(value);
        assert!(out.status.success(), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let skips: Vec<&str> = stderr.lines().filter(|l| l.contains("skipped")).collect();
        assert_eq!(
            skips,
            [
                "skipped: raindrops-no-such-program not found (apt-get install raindrops-no-such-package)"
            ],
            "{}",
            text(&out)
        );
    }
}

#[test]
fn a_missing_program_fails_when_required() {
    let out = inner_with("1");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(
            "raindrops-no-such-program not found (apt-get install raindrops-no-such-package), \
             and RAINDROPS_REQUIRE_EXTERNAL=1 forbids skipping"
        ),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("skipped:"), "{}", text(&out));
}

#[test]
fn another_value_fails_naming_it() {
    let out = inner_with("yes");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("RAINDROPS_REQUIRE_EXTERNAL must be 1 or 0, not \"yes\""),
        "{}",
        text(&out)
    );
}

#[test]
fn several_requirements_stop_at_the_first_missing() {
    if std::env::var_os(INNER).is_some() {
        return;
    }
    // `sh` is everywhere; the tuple holds each path found.
    let sh = Requirement::program("sh", "dash");
    let (first, second) = require_external!(sh, sh);
    assert_eq!(first, second);
}
