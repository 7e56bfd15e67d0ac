//! The Watcher's memory stays flat when clients ask about addresses it does not watch.
//! Its own test binary, so no other test's allocations move this process's RSS.
#![cfg(target_os = "linux")]

mod util;

use std::time::Duration;

use util::fixture::{fixture, serve};

/// This process's resident set, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test]
async fn ten_thousand_bogus_addresses_store_nothing() {
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_millis(100));
    let addr = serve(&watcher).await;
    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut ask = async |n: u32| {
        // Valid addresses nobody listens on, and Unix paths that do not exist, on every
        // per-address page.
        let (a, b) = (n % 250 + 1, n / 250 % 250);
        let tcp = format!("10.{a}.{b}.7%3A{}", n % 60000 + 1);
        let unix = format!("%2Fnowhere%2F{n}.sock");
        for path in [
            format!("/active/{tcp}.txt"),
            format!("/queued/{unix}.json"),
            format!("/chart/{tcp}.html"),
            format!("/chart/{unix}.json"),
            format!("/active/{unix}.html"),
        ] {
            util::keep_alive_get(&mut client, &path).await;
        }
    };
    // Warm up allocator pools and caches, then measure.
    for n in 0..1_000 {
        ask(n).await;
    }
    let before = rss();
    for n in 1_000..11_000 {
        ask(n).await;
    }
    let grown = rss().saturating_sub(before);
    // 50,000 requests; storing even 100 bytes per address would be ~1 MB per 10,000.
    assert!(grown < 1 << 20, "RSS grew by {grown} bytes");

    // Only the two real listeners are known: the index lists exactly them.
    let index = util::get(addr, "/").await;
    assert_eq!(index.body.matches("<tr><td>").count(), 2, "{}", index.body);
    let metrics = util::get(addr, "/metrics").await;
    assert_eq!(metrics.body.matches("raindrops_listener_active{").count(), 2);
}
