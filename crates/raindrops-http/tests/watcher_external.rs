//! The Watcher seen by real outside programs: headless Chromium renders its pages, Ruby
//! raindrops' Watcher answers the same histogram pages, and a real Prometheus scrapes its
//! `/metrics`. All are Debian packages that `.ci/run` installs; without one, its test skips
//! (`require_external!`).
#![cfg(target_os = "linux")]

mod util;

use std::time::{Duration, Instant};

use raindrops_test_support::external::{
    CHROMIUM, PROMETHEUS, RUBY_AGGREGATE, RUBY_RACK, RUBY_RAINDROPS,
};
use raindrops_test_support::require_external;
use util::browser::{chromium, console_errors, finish, spawn};
use util::fixture::{fixture, serve};
use util::prometheus::Prometheus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_index_and_a_chart_with_one_point_per_sample() {
    let program = require_external!(CHROMIUM);
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_millis(200));
    let addr = serve(&watcher).await;
    let (_, unix) = fx.escaped();
    // A few samples first, so the chart has a line to draw (bounded wait for the third).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let history = util::get(addr, &format!("/chart/{unix}.json")).await;
        let history: serde_json::Value = serde_json::from_str(&history.body).unwrap();
        if history["points"].as_array().is_some_and(|points| points.len() >= 3) {
            break;
        }
        assert!(Instant::now() < deadline, "fewer than 3 samples after 30 s: {history}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let index_url = format!("http://{addr}/");
    let chart_url = format!("http://{addr}/chart/{unix}.html");

    let index = tokio::task::block_in_place(|| {
        chromium(&program, profile.path(), &["--dump-dom", &index_url])
    });
    assert!(index.status.success(), "{}", String::from_utf8_lossy(&index.stderr));
    let dom = String::from_utf8_lossy(&index.stdout);
    assert_eq!(dom.matches("<tr>").count(), 3, "a header row and two listeners:\n{dom}");
    assert!(dom.contains(&format!(">{}</a>", fx.tcp)), "{dom}");
    assert_eq!(console_errors(&index.stderr), Vec::<String>::new());

    let chart = tokio::task::block_in_place(|| {
        chromium(&program, profile.path(), &["--dump-dom", &chart_url])
    });
    assert!(chart.status.success(), "{}", String::from_utf8_lossy(&chart.stderr));
    let dom = String::from_utf8_lossy(&chart.stdout);
    // The hostile path is text in the DOM, never an element.
    let parent = fx.unix.parent().unwrap().parent().unwrap().display();
    assert!(
        dom.contains(&format!("<h3>{parent}/&lt;script&gt;alert('x')/\"q\".sock</h3>")),
        "{dom}"
    );
    assert!(!dom.contains("<script"), "{dom}");
    // Two charts; each polyline has one vertex per sample, as many as the page says it has.
    let samples: usize = dom
        .split(" samples, one every")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no sample count in {dom}"));
    assert!(samples >= 3, "{samples} samples, after 3 were seen");
    let polylines: Vec<usize> = dom
        .split("points=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().split_whitespace().count())
        .collect();
    assert_eq!(polylines, [samples, samples], "{dom}");
    assert_eq!(console_errors(&chart.stderr), Vec::<String>::new());

    // And it paints: a real PNG of the chart page.
    let png = profile.path().join("chart.png");
    let shot = format!("--screenshot={}", png.display());
    let painted = tokio::task::block_in_place(|| {
        chromium(&program, profile.path(), &[&shot, "--window-size=800,600", &chart_url])
    });
    assert!(painted.status.success(), "{}", String::from_utf8_lossy(&painted.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 1000, "{} bytes", bytes.len());
}

/// A Rack response as tests/ruby/watcher.rb prints it: status, headers, body.
type RackResponse = (u16, Vec<(String, String)>, String);

/// Ruby raindrops' own Watcher (run in process with `Rack::MockRequest`) and ours, watching
/// the same listeners, answer the histogram pages with the same status, headers in the same
/// order, and the same bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histograms_match_ruby_raindrops_watcher() {
    let (ruby, _, _) = require_external!(RUBY_RAINDROPS, RUBY_AGGREGATE, RUBY_RACK);
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_secs(3600));
    let addr = serve(&watcher).await;
    let (tcp, unix) = fx.escaped();
    let paths = [
        format!("/queued/{tcp}.txt"),
        format!("/active/{tcp}.txt"),
        format!("/queued/{unix}.txt"),
        format!("/active/{unix}.txt"),
        "/active/127.0.0.1%3A1.txt".to_owned(),
    ];
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ruby/watcher.rb");
    let watched = format!("{},{}", fx.tcp, fx.unix.display());
    let mut args = vec![script, &watched];
    args.extend(paths.iter().map(String::as_str));
    let ruby = tokio::task::block_in_place(|| finish(spawn(&ruby, &args, None), &args));
    assert!(ruby.status.success(), "{}", String::from_utf8_lossy(&ruby.stderr));
    let answers: Vec<RackResponse> = serde_json::from_slice(&ruby.stdout).unwrap();
    assert_eq!(answers.len(), paths.len());
    for (path, (status, headers, body)) in paths.iter().zip(answers) {
        let ours = util::get(addr, path).await;
        assert_eq!(ours.status, status, "{path}");
        let theirs = util::mask_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(util::header_lines(&ours), theirs, "{path}");
        assert_eq!(ours.body, body, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_the_metrics() {
    let program = require_external!(PROMETHEUS);
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_millis(200));
    let addr = serve(&watcher).await;
    let mut prometheus = Prometheus::start(&program, addr);
    // Wait (bounded) until the fixture's queued numbers are in Prometheus.
    let queued = prometheus
        .wait_for("raindrops_listener_queued", |answer| {
            let series = answer["data"]["result"].as_array().cloned().unwrap_or_default();
            (series.len() >= 2).then_some(series)
        })
        .await;
    let value_of = |addr: &str| {
        queued
            .iter()
            .find(|s| s["metric"]["addr"] == addr)
            .map(|s| s["value"][1].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(value_of(&fx.tcp.to_string()).as_deref(), Some("2"), "{queued:?}");
    // The hostile path survives label escaping end to end.
    assert_eq!(value_of(&fx.unix.display().to_string()).as_deref(), Some("4"), "{queued:?}");

    let count = prometheus
        .query(&format!(
            "raindrops_listener_active_samples_count%7Baddr%3D%22127.0.0.1%3A{}%22%7D",
            fx.tcp.port()
        ))
        .await;
    let scraped: f64 = count["data"]["result"][0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(scraped >= 1.0, "{count}");
}
