//! The Watcher's `/metrics` shows the ages of the connections waiting in a listener's accept
//! queue, from the kernel: real connections queued on loopback, a real HTTP client, and a real
//! Prometheus computing quantiles of the ages' histogram.
#![cfg(target_os = "linux")]

mod util;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use raindrops_http::listeners::KernelListeners;
use raindrops_http::watcher::Watcher;
use raindrops_test_support::external::PROMETHEUS;
use raindrops_test_support::require_external;
use util::prometheus::Prometheus;

/// The value of the sample `line` (`name{labels}`) on the page, if there.
fn value(page: &str, line: &str) -> Option<f64> {
    page.lines().find_map(|l| l.strip_prefix(line)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_oldest_wait_and_the_ages_and_drop_an_accepted_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let t0 = Instant::now();
    let _clients: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let listeners = KernelListeners::addrs(vec![addr.into()]).unwrap();
    let watcher = Watcher::new(listeners, Duration::from_millis(50)).unwrap();
    let http = util::fixture::serve(&watcher).await;
    let label = format!("{{addr=\"{addr}\"}}");
    let oldest = format!("raindrops_listener_queue_oldest_seconds{label}");
    let count = format!("raindrops_listener_queue_wait_seconds_count{label}");
    // Wait (bounded) for a sample taken 0.5 s or more after the connections (the oldest age
    // grows from 0; its histogram holds both ages).
    let deadline = Instant::now() + Duration::from_secs(30);
    let (page, upper) = loop {
        let page = util::get(http, "/metrics").await.body;
        let upper = t0.elapsed();
        if value(&page, &oldest).is_some_and(|age| age >= 0.5) {
            break (page, upper);
        }
        assert!(Instant::now() < deadline, "no age of 0.5 s in 30 s: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let age = value(&page, &oldest).unwrap();
    // At most the time since before `connect`, plus a jiffy (10 ms at HZ=100).
    assert!(age <= upper.as_secs_f64() + 0.01, "oldest {age} s, {upper:?} since connect");
    // The histogram is cumulative: every sample adds both ages.
    let samples = format!("raindrops_listener_queued_samples_count{label}");
    let n = value(&page, &samples).unwrap();
    assert!(n >= 1.0, "{page}");
    assert_eq!(value(&page, &count), Some(2.0 * n), "{page}");
    let sum = value(&page, &format!("raindrops_listener_queue_wait_seconds_sum{label}")).unwrap();
    assert!(sum >= age && sum <= 2.0 * n * (upper.as_secs_f64() + 0.01), "{page}");
    // The index shows the oldest wait: a column, and its number in the JSON the page reads.
    let index = util::get(http, "/index.json").await.body;
    let index: serde_json::Value = serde_json::from_str(&index).unwrap();
    let row = &index["listeners"][0];
    let oldest_ms = row["oldest_ms"].as_u64().unwrap_or_else(|| panic!("{index}"));
    assert!(oldest_ms >= 500, "{index}");
    assert_eq!(row["oldest_wait"], format!("{oldest_ms} ms"), "{index}");
    let page = util::get(http, "/?sort=oldest").await.body;
    assert!(page.contains("data-key='oldest'"), "{page}");
    assert!(page.contains("<span data-v='oldest_wait'>"), "{page}");
    // /wait/ADDR: the oldest wait at each sample since the last reset, with Ruby's headers.
    let reply = util::get(http, &format!("/wait/{addr}.json")).await;
    let wait: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert!(wait["count"].as_u64().is_some_and(|n| n >= 1), "{wait}");
    assert!(wait["max"].as_i64().is_some_and(|ms| ms >= 500), "{wait}");
    assert!(wait["current"].as_u64().is_some_and(|ms| ms >= 500), "{wait}");
    let text = util::get(http, &format!("/wait/{addr}.txt")).await;
    assert_eq!(text.status, 200);
    for name in ["x-count", "x-min", "x-max", "x-current", "x-last-reset", "x-first-peak-at"] {
        assert!(text.header(name).is_some(), "{name} missing: {}", text.head);
    }
    assert!(text.header("x-max").unwrap().parse::<u64>().unwrap() >= 500, "{}", text.head);
    let html = util::get(http, &format!("/wait/{addr}.html")).await;
    assert!(html.body.contains("<td>Max</td>"), "{}", html.body);
    // An accepted connection leaves the waiting set: once a sample shows one queued, each
    // later sample adds one age.
    let (_accepted, _) = listener.accept().unwrap();
    let queued = format!("raindrops_listener_queued{label}");
    let counts = |page: &str| (value(page, &samples).unwrap(), value(page, &count).unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let (n1, c1) = loop {
        let page = util::get(http, "/metrics").await.body;
        if value(&page, &queued) == Some(1.0) {
            break counts(&page);
        }
        assert!(Instant::now() < deadline, "still 2 waiting after 30 s: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    loop {
        let page = util::get(http, "/metrics").await.body;
        let (n2, c2) = counts(&page);
        if n2 > n1 {
            assert_eq!(c2 - c1, n2 - n1, "one age a sample after the accept: {page}");
            break;
        }
        assert!(Instant::now() < deadline, "no sample after the accept in 30 s: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A reset forgets the ages and the oldest waits with the other aggregates. After it, a
    // sample (waited for) records the remaining connection's age, 0.4 s or more, where the
    // first samples had ages near 0; and the histogram counts one age a sample since, where
    // before it counted two.
    let path = format!("/reset/{}", addr.to_string().replace(':', "%3A"));
    assert_eq!(util::request_from(http, "POST", &path, "127.0.0.1").await.status, 302);
    let deadline = Instant::now() + Duration::from_secs(30);
    let wait = loop {
        let body = util::get(http, &format!("/wait/{addr}.json")).await.body;
        let wait: serde_json::Value = serde_json::from_str(&body).unwrap();
        if wait["count"].as_u64().is_some_and(|n| n >= 1) {
            break wait;
        }
        assert!(Instant::now() < deadline, "no sample after the reset in 30 s: {wait}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(wait["min"].as_i64().is_some_and(|ms| ms >= 400), "not reset: {wait}");
    let page = util::get(http, "/metrics").await.body;
    let (n, c) = counts(&page);
    assert_eq!(c, n, "not reset: {page}");
    // Read later, the histogram holds at least the samples /wait had.
    assert!(wait["count"].as_f64().is_some_and(|w| w <= n), "{wait} {page}");
}

/// The upper bound (s) of the log2 bucket of the histogram that holds `seconds`.
fn bucket_upper(seconds: f64) -> f64 {
    (0..).map(|k| ((1u64 << k) - 1) as f64 / 1000.0).find(|&le| le >= seconds).unwrap_or(f64::MAX)
}

#[test]
fn a_real_prometheus_gets_quantiles_of_the_queued_ages() {
    let program = require_external!(PROMETHEUS);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let t0 = Instant::now();
    let _clients: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // The Watcher starts once both have waited a second by the kernel's clock, so every age it
    // records is at least 1 s.
    let mut diag = raindrops::SockDiag::new().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waits = diag.tcp_waits(&[addr]).unwrap();
        if waits[0].1.count() == 2 && waits[0].1.ages_ms().iter().all(|&ms| ms >= 1000) {
            break;
        }
        assert!(Instant::now() < deadline, "no ages of 1 s after 30 s: {waits:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let listeners = KernelListeners::addrs(vec![addr.into()]).unwrap();
    let (watcher, http) = runtime.block_on(async {
        let watcher = Watcher::new(listeners, Duration::from_millis(100)).unwrap();
        let http = util::fixture::serve(&watcher).await;
        (watcher, http)
    });
    let mut prometheus = Prometheus::start(&program, http);
    let value = |answer: &serde_json::Value| -> Option<f64> {
        answer["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let (count, median) = runtime.block_on(async {
        let label = format!("%7Baddr%3D%22{addr}%22%7D");
        let count = prometheus
            .wait_for(&format!("raindrops_listener_queue_wait_seconds_count{label}"), value)
            .await;
        // Every sample the Watcher took so far added both ages: all of them ≥ 1 s and no older
        // than the time since `connect`.
        let median = prometheus
            .wait_for(
                &format!(
                    "histogram_quantile%280.5%2Craindrops_listener_queue_wait_seconds_bucket{label}%29"
                ),
                value,
            )
            .await;
        (count, median)
    });
    let upper = bucket_upper(t0.elapsed().as_secs_f64());
    drop(watcher);
    assert!(count >= 2.0 && count % 2.0 == 0.0, "count {count}");
    // Prometheus interpolates inside a bucket: ages of 1 s or more lie in (0.511, 1.023] or
    // above, and none is older than the bucket of the test's elapsed time.
    assert!(0.511 < median && median <= upper, "median {median}, upper {upper}");
}
