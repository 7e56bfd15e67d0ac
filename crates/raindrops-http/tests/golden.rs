//! Golden files of every raindrops-http endpoint's output (`tests/golden/`), over real
//! listeners and a real HTTP client: the Watcher's `/metrics` and JSON pages, the middleware's
//! `/_raindrops`, `.json` and `/metrics`, and LastDataRecv's three formats. Each OpenMetrics
//! output also passes `promtool check metrics` and `prometheus_client`'s parsers.
//!
//! What varies from run to run is replaced before comparing (see [`filter`]): the fixture's TCP
//! port by `PORT`, its temporary directory by `DIR`, sample times by `TIME`, date headers by
//! `<date>`. Regenerate with `RAINDROPS_BLESS=1 cargo test -p raindrops-http --test golden`.
#![cfg(target_os = "linux")]

mod util;

use std::net::SocketAddr;
use std::time::Duration;

use raindrops_http::exposition::LabeledCounter;
use raindrops_http::last_data_recv::LastDataRecv;
use raindrops_http::listeners::KernelListeners;
use raindrops_http::middleware::{HttpStats, RaindropsLayer};
use raindrops_test_support::assert_golden;
use raindrops_test_support::golden::{Filter, check_openmetrics};
use util::fixture::{Fixture, fixture};

/// The normalisation of the fixture's outputs: its port, its directory (as written in text and
/// in labels, where `\` is doubled) and its sample times.
fn filter(fx: &Fixture) -> Filter {
    let dir = fx.unix.parent().and_then(|p| p.parent()).unwrap().display().to_string();
    let filter = Filter::new()
        .replace(format!(":{}", fx.tcp.port()), ":PORT")
        .replace(format!("%3A{}", fx.tcp.port()), "%3APORT")
        .replace(&dir, "DIR")
        .between("\nraindrops_sample_time_seconds ", "\n", "TIME")
        .between("_at\":\"", "\"", "TIME")
        .between("\"last_reset\":\"", "\"", "TIME")
        .between("[[\"", "\"", "TIME")
        // The chart's oldest wait: the TCP listener's 2 queued connections' age at the sample.
        .between("\",3,2,", "]", "AGE");
    // The queued connections' ages depend on when the sample was taken: their values go, the
    // lines (and the count, 2) stay.
    let wait = "raindrops_listener_queue_wait_seconds";
    let tcp = "{addr=\"127.0.0.1:PORT\"";
    let bounds = (0..21).map(|k| ((1u64 << k) - 1) as f64 / 1000.0).map(|le| le.to_string());
    bounds
        .fold(filter, |f, le| f.between(format!("{wait}_bucket{tcp},le=\"{le}\"}} "), "\n", "N"))
        .between(format!("{wait}_sum{tcp}}} "), "\n", "AGES")
        .between(format!("raindrops_listener_queue_oldest_seconds{tcp}}} "), "\n", "AGE")
}

/// A reply as its golden file holds it: status line, header lines (dates masked), a blank
/// line, the body.
fn page(reply: &util::Reply) -> String {
    let status = reply.head.lines().next().unwrap_or_default();
    format!("{status}\n{}\n\n{}", util::header_lines(reply).join("\n"), reply.body)
}

#[tokio::test]
async fn watcher_metrics_and_json() {
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_secs(3600));
    let addr = util::fixture::serve(&watcher).await;
    let (tcp, unix) = fx.escaped();
    let filter = filter(&fx);
    let metrics = util::get(addr, "/metrics").await;
    check_openmetrics(&metrics.body);
    assert_golden!("watcher/metrics.txt", filter.apply(&page(&metrics)));
    for (name, path) in [
        ("active-tcp.json", format!("/active/{tcp}.json")),
        ("queued-unix.json", format!("/queued/{unix}.json")),
        ("chart-tcp.json", format!("/chart/{tcp}.json")),
    ] {
        let reply = util::get(addr, &path).await;
        assert_golden!(format!("watcher/{name}"), filter.apply(&page(&reply)));
    }
}

#[tokio::test]
async fn middleware_endpoints() {
    let fx = fixture();
    let addrs =
        vec![raindrops::ListenerAddr::Tcp(fx.tcp), raindrops::ListenerAddr::Unix(fx.unix.clone())];
    let recycles = || {
        vec![LabeledCounter {
            name: "recycles".into(),
            help: "Workers recycled, by reason.".into(),
            label: "reason".into(),
            values: vec![("memory".into(), 2), ("requests".into(), 0)],
        }]
    };
    // Accepted connections' waits, in ms, as the accept wrappers record them.
    let waits = raindrops::SharedAggregate::new(2).unwrap();
    for (worker, ms) in [(0, 0), (1, 3), (0, 300), (1, 1500)] {
        waits.recorder(worker).record(ms);
    }
    let layer = RaindropsLayer::new(HttpStats::per_cpu().unwrap())
        .listeners(KernelListeners::addrs(addrs).unwrap())
        .counters(recycles)
        .accept_waits(waits);
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" })).layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
    });
    assert_eq!(util::get(addr, "/").await.body, "hi");
    let filter = filter(&fx);
    let om = "Accept: application/openmetrics-text; version=1.0.0\r\n";
    for (name, path, headers) in [
        ("raindrops.txt", "/_raindrops", ""),
        ("raindrops-accept-openmetrics.txt", "/_raindrops", om),
        ("raindrops.json", "/_raindrops.json", ""),
        ("raindrops-metrics.txt", "/_raindrops/metrics", ""),
    ] {
        let reply = util::request_with(addr, "GET", path, headers).await;
        if name.contains("metrics") {
            check_openmetrics(&reply.body);
        }
        assert_golden!(format!("middleware/{name}"), filter.apply(&page(&reply)));
    }
}

#[tokio::test]
async fn last_data_recv_formats() {
    let stats = LastDataRecv::new(2).unwrap();
    for (worker, ms) in [(0, 0), (0, 3), (1, 40), (1, 700), (0, 12)] {
        stats.aggregate().recorder(worker).record(ms);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback_service(stats.service());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let om = "Accept: application/openmetrics-text; version=1.0.0\r\n";
    for (name, path, headers) in [
        ("text.txt", "/_last_data_recv", ""),
        ("json.json", "/_last_data_recv.json", ""),
        ("metrics.txt", "/_last_data_recv/metrics", ""),
        ("accept-openmetrics.txt", "/_last_data_recv", om),
    ] {
        let reply = util::request_with(addr, "GET", path, headers).await;
        if name.contains("metrics") {
            check_openmetrics(&reply.body);
        }
        assert_golden!(format!("last_data_recv/{name}"), page(&reply));
    }
}
