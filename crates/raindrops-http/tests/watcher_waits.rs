//! The Watcher's `/metrics` shows the ages of the connections waiting in a listener's accept
//! queue, from the kernel: real connections queued on loopback, a real HTTP client.
#![cfg(target_os = "linux")]

mod util;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use raindrops_http::listeners::KernelListeners;
use raindrops_http::watcher::Watcher;

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
    assert_eq!(value(&page, &count), Some(2.0), "{page}");
    let sum = value(&page, &format!("raindrops_listener_queue_wait_seconds_sum{label}")).unwrap();
    assert!(sum >= age && sum <= 2.0 * (upper.as_secs_f64() + 0.01), "{page}");
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
    // An accepted connection leaves the waiting set.
    let (_accepted, _) = listener.accept().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = util::get(http, "/metrics").await.body;
        if value(&page, &count) == Some(1.0) {
            break;
        }
        assert!(Instant::now() < deadline, "still 2 waiting after 30 s: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
