//! `raindrops dump FILE` on real segment files, in all three formats.

use raindrops::{Drops, Workers};
use raindrops_test_support::prometheus::{self, Parser};

use crate::util::{assert_text, raindrops};

raindrops::counters! {
    /// The fixture's fields: two gauges and a counter.
    pub(crate) struct Http {
        calling: gauge,
        writing: gauge,
        requests: counter,
    }
}

/// Two workers, one of which died after serving 5 requests.
pub(crate) fn workers_fixture(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("http.drops");
    let workers = Workers::<Http>::create(&path, 2).unwrap();
    let (zero, one) = (workers.worker(0), workers.worker(1));
    zero.requests().add(5);
    zero.calling().incr();
    workers.retire(0);
    zero.requests().add(2);
    zero.calling().incr();
    workers.set_pid(0, 4242);
    one.requests().add(10);
    one.writing().incr();
    workers.set_pid(1, 4343);
    path
}

#[test]
fn text_lists_sums_then_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = workers_fixture(&dir);
    let out = raindrops().arg("dump").arg(&path).assert().success().get_output().stdout.clone();
    assert_text(
        "calling: 1\n\
         writing: 1\n\
         requests: 17\n\
         worker.0.pid: 4242\n\
         worker.0.calling: 1\n\
         worker.0.writing: 0\n\
         worker.0.requests: 2\n\
         worker.1.pid: 4343\n\
         worker.1.calling: 0\n\
         worker.1.writing: 1\n\
         worker.1.requests: 10\n\
         retired.requests: 5\n",
        &String::from_utf8(out).unwrap(),
    );
}

#[test]
fn json_is_one_object() {
    let dir = tempfile::tempdir().unwrap();
    let path = workers_fixture(&dir);
    let out = raindrops().args(["dump", "--format", "json"]).arg(&path).assert().success();
    let value: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "total": {"calling": 1, "writing": 1, "requests": 17},
            "workers": [
                {"worker": 0, "pid": 4242, "heartbeat_age_ms": null,
                 "counters": {"calling": 1, "writing": 0, "requests": 2}},
                {"worker": 1, "pid": 4343, "heartbeat_age_ms": null,
                 "counters": {"calling": 0, "writing": 1, "requests": 10}},
            ],
            "retired": {"requests": 5},
        })
    );
}

#[test]
fn prometheus_parses_with_the_official_client() {
    let dir = tempfile::tempdir().unwrap();
    let path = workers_fixture(&dir);
    let out = raindrops().args(["dump", "-f", "prometheus"]).arg(&path).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("# TYPE raindrops_requests_total counter\n"), "{text}");
    assert!(text.contains("# TYPE raindrops_calling gauge\n"), "{text}");
    let Some(parsed) = prometheus::parse(Parser::Prometheus, &text) else { return };
    assert_eq!(
        parsed,
        [
            "# raindrops_calling gauge",
            "# raindrops_requests counter",
            "# raindrops_writing gauge",
            "raindrops_calling{worker=\"0\"} 1.0",
            "raindrops_calling{worker=\"1\"} 0.0",
            "raindrops_requests_total{worker=\"0\"} 2.0",
            "raindrops_requests_total{worker=\"1\"} 10.0",
            "raindrops_requests_total{worker=\"retired\"} 5.0",
            "raindrops_writing{worker=\"0\"} 0.0",
            "raindrops_writing{worker=\"1\"} 1.0",
        ]
    );
}

#[test]
fn heartbeat_age_is_a_gauge_of_each_beating_worker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("beating.drops");
    let workers = Workers::<Http>::create(&path, 3).unwrap();
    workers.beat(0);
    workers.beat(2);
    let out = raindrops().args(["dump", "-f", "prometheus"]).arg(&path).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains(
            "# TYPE raindrops_worker_heartbeat_age_seconds gauge\n\
             # HELP raindrops_worker_heartbeat_age_seconds Seconds since the worker's last \
             heartbeat in its stats row.\n"
        ),
        "{text}"
    );
    let ages: Vec<(&str, f64)> = text
        .lines()
        .filter_map(|line| line.strip_prefix("raindrops_worker_heartbeat_age_seconds{worker=\""))
        .map(|rest| {
            let (worker, value) = rest.split_once("\"} ").unwrap();
            (worker, value.parse().unwrap())
        })
        .collect();
    // Row 1 never beat: no sample. The others beat just now (a generous upper bound).
    assert_eq!(ages.iter().map(|(w, _)| *w).collect::<Vec<_>>(), ["0", "2"], "{text}");
    assert!(ages.iter().all(|(_, age)| (0.0..60.0).contains(age)), "{text}");
    let Some(parsed) = prometheus::parse(Parser::Prometheus, &text) else { return };
    assert!(
        parsed.contains(&"# raindrops_worker_heartbeat_age_seconds gauge".to_owned()),
        "{parsed:?}"
    );
}

#[test]
fn named_and_plain_segments() {
    let dir = tempfile::tempdir().unwrap();
    let named = dir.path().join("named");
    let http = Http::create(&named).unwrap();
    http.requests().add(3);
    raindrops().arg("dump").arg(&named).assert().success().stdout(
        "calling: 0\n\
         writing: 0\n\
         requests: 3\n",
    );
    let named_prom = raindrops().args(["dump", "-f", "prometheus"]).arg(&named).assert().success();

    let plain = dir.path().join("plain");
    let drops = Drops::create(&plain, 2).unwrap();
    drops.decr(1);
    raindrops()
        .arg("dump")
        .arg(&plain)
        .assert()
        .success()
        .stdout(format!("0: 0\n1: {}\n", u64::MAX));
    raindrops()
        .args(["dump", "-f", "json"])
        .arg(&plain)
        .assert()
        .success()
        .stdout(format!("{{\n  \"slots\": [\n    0,\n    {}\n  ]\n}}\n", u64::MAX));
    let prom = raindrops().args(["dump", "-f", "prometheus"]).arg(&plain).assert().success();

    let named_prom = String::from_utf8_lossy(&named_prom.get_output().stdout);
    let Some(parsed) = prometheus::parse(Parser::Prometheus, &named_prom) else { return };
    assert!(parsed.contains(&"raindrops_requests_total{} 3.0".to_owned()), "{parsed:?}");
    prometheus::parse(Parser::Prometheus, &String::from_utf8_lossy(&prom.get_output().stdout));
}

#[test]
fn bad_files_exit_1_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    raindrops()
        .arg("dump")
        .arg(&missing)
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!("raindrops: cannot dump: {}: no such segment file\n", missing.display()));
    let foreign = dir.path().join("foreign");
    std::fs::write(&foreign, "hello, world! this is not a segment file at all, no sir.......")
        .unwrap();
    raindrops().arg("dump").arg(&foreign).assert().code(1).stdout("").stderr(format!(
        "raindrops: cannot dump: {}: not a raindrops segment: starts with \"hello, w\", \
         expected \"RAINDROP\"\n",
        foreign.display()
    ));
}

#[test]
fn usage_errors_exit_2() {
    raindrops().args(["dump", "--format", "yaml", "x"]).assert().code(2).stdout("");
    raindrops().arg("dump").assert().code(2);
}
