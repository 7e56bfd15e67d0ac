//! `deploy/grafana/raindrops.json`: a real Prometheus scrapes a real `raindrops watch`, a real
//! `raindrops serve` and a real `raindrops recycle --metrics-listen` recycling that serve's
//! workers; every panel's query (and the instance variable's) returns series through its HTTP
//! API, as Grafana would ask it, and the recycling panels' from the sidecar itself.
#![cfg(target_os = "linux")]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use raindrops_http::exposition::families;
use raindrops_test_support::external::PROMETHEUS;
use raindrops_test_support::require_external;
use serde_json::Value;

use crate::recycle_metrics::metrics_addr;
use crate::recycle_sidecar::Sidecar;
use crate::serve::{Serve, get};
use crate::watch::Watch;

/// The dashboard, parsed.
fn dashboard() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/raindrops.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every panel's title and queries (rows have none).
fn panel_queries(dashboard: &Value) -> Vec<(String, Vec<String>)> {
    let panels = dashboard["panels"].as_array().expect("panels");
    panels
        .iter()
        .filter(|p| p["type"] != "row")
        .map(|p| {
            let targets = p["targets"].as_array().expect("targets");
            let exprs = targets.iter().map(|t| t["expr"].as_str().unwrap().to_owned()).collect();
            (p["title"].as_str().unwrap().to_owned(), exprs)
        })
        .collect()
}

/// A query as Grafana sends it with `instance` selected (`.*`, the `allValue`, for all).
fn as_grafana_sends(expr: &str, instance: &str) -> String {
    expr.replace("$instance", instance)
}

/// `s` percent-encoded for a query string.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `data` of Prometheus' answer at `path`, once it answers `success`.
fn api(prometheus: SocketAddr, path: &str) -> Option<Value> {
    let (status, body) = get(prometheus, path).ok()?;
    let body = if body.starts_with('{') { body } else { dechunk(&body) };
    let reply: Value = serde_json::from_str(&body).ok()?;
    (status == 200 && reply["status"] == "success").then(|| reply["data"].clone())
}

/// A chunked HTTP/1.1 body, joined.
fn dechunk(body: &str) -> String {
    let (mut rest, mut out) = (body, String::new());
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || tail.len() < size {
            break;
        }
        out.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    out
}

/// Kills and reaps the Prometheus this test started, when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_dashboard_has_an_instance_variable_and_names_only_exported_metrics() {
    let dashboard = dashboard();
    let variables = dashboard["templating"]["list"].as_array().expect("templating");
    let instance = variables.iter().find(|v| v["name"] == "instance").expect("$instance");
    assert_eq!(instance["includeAll"], true);
    assert_eq!(instance["allValue"], ".*");
    let panels = panel_queries(&dashboard);
    assert!(panels.len() >= 7, "{panels:?}");
    // The recycle sidecar's worker memory with its drawn limit, its recycles and its signals.
    for family in [
        "raindrops_recycle_worker_memory_bytes",
        "raindrops_recycle_worker_limit_bytes",
        "raindrops_recycle_worker_age_seconds",
        "raindrops_recycles_total",
        "raindrops_recycle_signals_total",
    ] {
        let shown = panels.iter().flat_map(|(_, exprs)| exprs).any(|e| e.contains(family));
        assert!(shown, "no panel shows {family}");
    }
    for (title, exprs) in &panels {
        assert!(!exprs.is_empty(), "{title}: no query");
        for expr in exprs {
            assert!(expr.contains("instance=~\"$instance\""), "{title}: {expr} ignores $instance");
            let names = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("raindrops_"));
            for name in names {
                let family = ["_total", "_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .unwrap_or(name);
                assert!(families::lookup(family).is_some(), "{title}: {name} is not exported");
            }
        }
    }
}

#[test]
fn every_panel_returns_series_from_a_real_prometheus() {
    let program = require_external!(PROMETHEUS);
    let serve = Serve::start_with(2, &[]);
    // And a listener nobody accepts on, with a connection waiting: the queue panels have one.
    let backlog = TcpListener::bind("127.0.0.1:0").unwrap();
    let _waiting = TcpStream::connect(backlog.local_addr().unwrap()).unwrap();
    let watched = [serve.addr.to_string(), backlog.local_addr().unwrap().to_string()];
    let watch = Watch::start(&["--delay", "200ms", &watched[0], &watched[1]]);
    // Requests, so the serve's counters move.
    for _ in 0..3 {
        assert_eq!(get(serve.addr, "/").unwrap().0, 200);
    }
    // The sidecar recycles the serve's workers (its master replaces them) every 2-3 s: its
    // counters have series only once a recycle and a signal have happened. The memory limit
    // (never reached) is drawn, so the limit has series too.
    let master = serve.pid().to_string();
    let sidecar = Sidecar::start(&[
        "--master",
        &master,
        "--max-memory",
        "1G..2G",
        "--max-lifetime",
        "2s..3s",
        "--interval",
        "200ms",
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    let recycle = metrics_addr(&sidecar);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n\
             \x20 - job_name: raindrops-watch\n    static_configs:\n      - targets: ['{}']\n\
             \x20 - job_name: raindrops-serve\n    static_configs:\n      - targets: ['{}']\n\
             \x20 - job_name: raindrops-recycle\n    static_configs:\n      - targets: ['{}']\n",
            watch.addr, serve.addr, recycle
        ),
    )
    .unwrap();
    let prometheus: SocketAddr = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let _server = Reaped(
        Command::new(&program)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address={prometheus}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus"),
    );
    // Every query with all instances; the recycle sidecar's families' also with its instance
    // alone (`raindrops serve` counts recycles too).
    let mut queries: Vec<(String, String)> = Vec::new();
    for (title, exprs) in panel_queries(&dashboard()) {
        for expr in exprs {
            queries.push((title.clone(), as_grafana_sends(&expr, ".*")));
            if expr.contains("raindrops_recycle") {
                queries.push((title.clone(), as_grafana_sends(&expr, &recycle.to_string())));
            }
        }
    }
    // Bounded: until every query has returned series at least once, or 90 s.
    let deadline = Instant::now() + Duration::from_secs(90);
    while !queries.is_empty() && Instant::now() < deadline {
        // A request each round: the request rate and the accept waits have news to show.
        let _ = get(serve.addr, "/");
        queries.retain(|(_, expr)| {
            let path = format!("/api/v1/query?query={}", encode(expr));
            let result = api(prometheus, &path).map(|data| data["result"].clone());
            !result.and_then(|r| r.as_array().map(|r| !r.is_empty())).unwrap_or(false)
        });
        std::thread::sleep(Duration::from_millis(500));
    }
    let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
    assert!(
        queries.is_empty(),
        "panels without series after 90 s: {queries:#?}\n{log}\n{:#?}",
        sidecar.log()
    );
    // The instance variable lists all three targets.
    let variable = r#"up{job=~"raindrops.*"}"#;
    let path = format!("/api/v1/label/instance/values?match[]={}", encode(variable));
    let instances = api(prometheus, &path).expect("label values");
    for target in [watch.addr, serve.addr, recycle] {
        assert!(
            instances.as_array().unwrap().iter().any(|i| i == &target.to_string()),
            "{target} not in {instances}"
        );
    }
}
