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
use util::fixture::{Gate, fixture, serve};
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

/// `body` with the dates of a histogram page's table (`<td>Last-Reset</td><td>DATE</td>`, ...)
/// masked: each Watcher has its own start time.
fn mask_table_dates(body: &str) -> String {
    let mut body = body.to_owned();
    for name in ["Last-Reset", "First-Peak-At", "Last-Peak-At"] {
        let cell = format!("<td>{name}</td><td>");
        let start = body.find(&cell).unwrap_or_else(|| panic!("no {name} in {body}")) + cell.len();
        let end = start + body[start..].find("</td>").unwrap();
        httpdate::parse_http_date(&body[start..end]).expect(&body[start..end]);
        body.replace_range(start..end, "<date>");
    }
    body
}

/// Ruby raindrops' own Watcher (run in process with `Rack::MockRequest`) and ours, watching
/// the same listeners, answer its routes with the same status, headers in the same order, and
/// the same bytes: the histograms as text and HTML (dates masked: each Watcher has its own
/// start), `POST /reset` (status, `Location` and body when the Referer is a path: without one
/// Ruby sends `HOST/`, a relative URL, where ours sends `/`, as documented) and a tail's first
/// line (its time masked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histograms_match_ruby_raindrops_watcher() {
    let (ruby, _, _) = require_external!(RUBY_RAINDROPS, RUBY_AGGREGATE, RUBY_RACK);
    let fx = fixture();
    // One sample, as Ruby's; more only for the tails, asked last.
    let gate = Gate::default();
    gate.allow(1);
    let watcher = fx.gated_watcher(&gate);
    let addr = serve(&watcher).await;
    let (tcp, unix) = fx.escaped();
    let mut pages = Vec::new();
    for e in [&tcp, &unix, &"127.0.0.1%3A1".to_owned()] {
        for which in ["queued", "active"] {
            for ext in ["txt", "html"] {
                pages.push(format!("/{which}/{e}.{ext}"));
            }
        }
    }
    let resets = [format!("POST /reset/{tcp} /queued/{tcp}.html"), format!("POST /reset/{unix}")];
    let tails = [format!("/tail/{tcp}.txt"), format!("/tail/{unix}.txt")];
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ruby/watcher.rb");
    let watched = format!("{},{}", fx.tcp, fx.unix.display());
    let mut args = vec![script, &watched];
    args.extend(pages.iter().chain(&resets).chain(&tails).map(String::as_str));
    let ruby = tokio::task::block_in_place(|| finish(spawn(&ruby, &args, None), &args));
    assert!(ruby.status.success(), "{}", String::from_utf8_lossy(&ruby.stderr));
    let answers: Vec<RackResponse> = serde_json::from_slice(&ruby.stdout).unwrap();
    assert_eq!(answers.len(), pages.len() + resets.len() + tails.len());
    let mut answers = answers.into_iter();

    for (path, (status, headers, body)) in pages.iter().zip(&mut answers) {
        let ours = util::get(addr, path).await;
        assert_eq!(ours.status, status, "{path}");
        let theirs = util::mask_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(util::header_lines(&ours), theirs, "{path}");
        if path.ends_with(".html") {
            assert_eq!(mask_table_dates(&ours.body), mask_table_dates(&body), "{path}");
        } else {
            assert_eq!(ours.body, body, "{path}");
        }
    }

    for (request, (status, headers, body)) in resets.iter().zip(&mut answers) {
        let mut words = request.split(' ').skip(1);
        let path = words.next().unwrap();
        let referer = words.next().map(|r| format!("Referer: {r}\r\n")).unwrap_or_default();
        let ours =
            util::request_with(addr, "POST", path, &format!("Host: test\r\n{referer}")).await;
        assert_eq!(ours.status, status, "{request}");
        let theirs = util::mask_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if referer.is_empty() {
            // The documented difference: back to `/`, never to `HOST/` (relative to the page).
            assert!(theirs.contains(&"location: test/".to_owned()), "{theirs:?}");
            assert_eq!(ours.header("location"), Some("/"), "{request}");
            assert_eq!(
                (body.as_str(), ours.body.as_str()),
                ("Redirecting to test/", "Redirecting to /")
            );
        } else {
            assert_eq!(util::header_lines(&ours), theirs, "{request}");
            assert_eq!(ours.body, body, "{request}");
        }
    }

    // Samples for the tails to print, until they have (bounded: 30 s).
    let sampler = gate.clone();
    let sampling = tokio::spawn(async move {
        for _ in 0..1500 {
            sampler.allow(1);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    for (path, (status, headers, body)) in tails.iter().zip(&mut answers) {
        let (head, line) = util::first_tail_chunk(addr, path).await;
        assert_eq!(status, 200, "{path}");
        let ours = util::mask_headers(head.lines().skip(1).filter_map(|l| l.split_once(": ")));
        let theirs = util::mask_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(ours, theirs, "{path}");
        // A chunk of one line, whose first 20 bytes are the sample's time.
        let (size, theirs) = body.split_once("\r\n").unwrap();
        assert_eq!(format!("{:x}", line.len()), size, "{path}: {body:?}");
        assert_eq!(theirs.strip_suffix("\r\n").map(|l| &l[20..]), Some(&line[20..]), "{path}");
        let time = line.as_bytes();
        assert!(time[10] == b'T' && time[19] == b'Z' && time[20] == b' ', "{line:?}");
    }
    sampling.abort();
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
