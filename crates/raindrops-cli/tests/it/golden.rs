//! Golden files of `raindrops dump` and `raindrops stats` in every format
//! (`tests/golden/`); the Prometheus outputs also pass `promtool check metrics` and
//! `prometheus_client`'s parser. Regenerate with
//! `RAINDROPS_BLESS=1 cargo test -p raindrops-cli --test it golden`.
//!
//! What varies from run to run is replaced before comparing: the fixture's TCP port by `PORT`,
//! its temporary directory by `DIR`, `stats`' timestamps by `TIME`.

use raindrops::{Drops, Workers};
use raindrops_test_support::assert_golden;
use raindrops_test_support::golden::{Filter, check_prometheus};

use crate::dump::{Http, workers_fixture};
use crate::stats::Fixture;
use crate::util::raindrops;

/// `raindrops ARGS...`' stdout, after checking it succeeded.
fn stdout(args: &[&std::ffi::OsStr]) -> String {
    let out = raindrops().args(args).assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn dump_every_segment_kind_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let workers = workers_fixture(&dir);
    let named = dir.path().join("named");
    Http::create(&named).unwrap().requests().add(3);
    let plain = dir.path().join("plain");
    Drops::create(&plain, 2).unwrap().decr(1);
    // Unused rows of a workers segment: no pid, no heartbeat, zeros.
    let spare = dir.path().join("spare");
    Workers::<Http>::create(&spare, 1).unwrap();
    for (kind, path) in
        [("workers", &workers), ("named", &named), ("plain", &plain), ("spare", &spare)]
    {
        for format in ["text", "json", "prometheus"] {
            let out =
                stdout(&["dump".as_ref(), "--format".as_ref(), format.as_ref(), path.as_ref()]);
            if format == "prometheus" {
                check_prometheus(&out);
            }
            assert_golden!(format!("dump/{kind}.{format}"), out);
        }
    }
}

#[test]
fn stats_in_every_format() {
    let f = Fixture::new("127.0.0.1:0");
    let filter = Filter::new()
        .replace(format!(":{}", f.addr().port()), ":PORT")
        .replace(f.unix().trim_end_matches("/u.sock"), "DIR")
        .between("\"timestamp\":\"", "\"", "TIME");
    let addr = f.addr().to_string();
    for format in ["json", "prometheus"] {
        for queued_only in [false, true] {
            let mut args = vec!["stats", "--format", format];
            if queued_only {
                args.push("--queued-only");
            }
            args.extend([addr.as_str(), f.unix()]);
            let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
            let out = stdout(&args);
            if format == "prometheus" {
                check_prometheus(&out);
            }
            let name = if queued_only { "queued" } else { "all" };
            assert_golden!(format!("stats/{name}.{format}"), filter.apply(&out));
        }
    }
}

/// Every golden file of the workspace (`crates/*/tests/golden/`), as (path, text).
fn every_golden_file() -> Vec<(std::path::PathBuf, String)> {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&crates)
        .unwrap()
        .map(|e| e.unwrap().path().join("tests/golden"))
        .filter(|d| d.is_dir())
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path, text));
            }
        }
    }
    files
}

/// A raindrops metric reads the same wherever it appears: across every golden file, each
/// `raindrops_*` family has one `# TYPE` and one `# HELP` (a counter's Prometheus-format
/// metadata names it `NAME_total`).
#[test]
fn a_metric_reads_the_same_everywhere() {
    use std::collections::BTreeMap;
    let mut seen: BTreeMap<(String, &str), BTreeMap<String, String>> = BTreeMap::new();
    let files = every_golden_file();
    assert!(files.len() >= 20, "{} golden files", files.len());
    for (path, text) in &files {
        for line in text.lines() {
            for kind in ["TYPE", "HELP"] {
                let Some(rest) = line.strip_prefix(&format!("# {kind} raindrops_")) else {
                    continue;
                };
                let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
                let name = name.strip_suffix("_total").unwrap_or(name).to_owned();
                seen.entry((name, kind))
                    .or_default()
                    .insert(value.to_owned(), path.display().to_string());
            }
        }
    }
    assert!(seen.contains_key(&("listener_active".to_owned(), "HELP")), "{seen:?}");
    let differing: Vec<_> = seen.iter().filter(|(_, values)| values.len() > 1).collect();
    assert!(differing.is_empty(), "families that read differently: {differing:#?}");
}
