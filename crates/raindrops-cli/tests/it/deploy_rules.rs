//! `deploy/prometheus/raindrops.rules.yml`: promtool checks it and runs its unit tests
//! (`raindrops.rules.test.yml`: each alert on series that fire it and series that must not),
//! and every metric it names is one raindrops exports.

use std::path::PathBuf;
use std::process::Command;

use raindrops_http::exposition::families;
use raindrops_test_support::external::PROMTOOL;
use raindrops_test_support::require_external;

/// `deploy/prometheus` of the workspace.
fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn promtool_checks_the_rules_and_passes_their_tests() {
    let promtool = require_external!(PROMTOOL);
    for args in
        [["check", "rules", "raindrops.rules.yml"], ["test", "rules", "raindrops.rules.test.yml"]]
    {
        let out = Command::new(&promtool).args(args).current_dir(dir()).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "promtool {args:?}:\n{text}");
        assert!(text.contains("SUCCESS"), "promtool {args:?}:\n{text}");
    }
}

#[test]
fn every_alert_is_tested_firing_and_not_and_names_only_exported_metrics() {
    let rules = read("raindrops.rules.yml");
    let tests = read("raindrops.rules.test.yml");
    let alerts: Vec<&str> =
        rules.lines().filter_map(|l| l.trim().strip_prefix("- alert: ")).collect();
    assert_eq!(alerts.len(), 5, "{alerts:?}");
    for alert in &alerts {
        // Each alert's test cases: at least one where it fires, one where nothing does.
        let cases: Vec<&str> = tests
            .split("- eval_time:")
            .filter(|case| case.contains(&format!("alertname: {alert}\n")))
            .collect();
        assert!(cases.iter().any(|c| c.contains("exp_alerts: []")), "{alert}: no silent case");
        assert!(cases.iter().any(|c| c.contains("exp_labels:")), "{alert}: no firing case");
    }
    // Every raindrops_ metric of an expression is one of the families table (a counter's
    // samples end in _total); recorded names (`level:metric:operation`) are not metrics.
    let names = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr: "))
        .flat_map(|expr| expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')))
        .filter(|word| word.starts_with("raindrops_"));
    let mut seen = 0;
    for name in names {
        let family = name.strip_suffix("_total").unwrap_or(name);
        assert!(families::lookup(family).is_some(), "{name} is not exported by raindrops");
        seen += 1;
    }
    assert!(seen >= 4, "{seen} metrics named");
}
