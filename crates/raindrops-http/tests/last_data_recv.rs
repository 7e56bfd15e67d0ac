//! LastDataRecv on loopback: real clients, real TCP_DEFER_ACCEPT, a real HTTP endpoint.
#![cfg(target_os = "linux")]

mod util;

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use raindrops::Aggregate;
use raindrops_http::accept::Peer;
use raindrops_http::last_data_recv::{LastDataRecv, RecordingListener};

/// Serves `stats`' endpoint on a plain (not recording) loopback listener.
async fn serve_endpoint(stats: &LastDataRecv) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback_service(stats.service());
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Accepts `n` connections from a non-blocking std listener, polling until `deadline`.
fn accept_n(
    listener: &RecordingListener<std::net::TcpListener>,
    n: usize,
    deadline: Instant,
) -> Vec<TcpStream> {
    let mut streams = Vec::new();
    while streams.len() < n {
        match listener.accept() {
            Ok((stream, _)) => streams.push(stream),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(
                    Instant::now() < deadline,
                    "accepted {} of {n} by the deadline",
                    streams.len()
                );
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
    streams
}

fn sleep_until(t: Instant) {
    thread::sleep(t.saturating_duration_since(Instant::now()));
}

/// Three clients connect at once and send after ~0, 200 and 500 ms; the server accepts them
/// all at 1100 ms, so their data waited ~1100, ~900 and ~600 ms: rows 1024 (1) and 512 (2),
/// each value at least 76 ms from a bucket edge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_in_the_accept_queue_land_in_their_log2_buckets() {
    let stats = LastDataRecv::new(1).unwrap();
    let listener = stats.listener(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), 0).unwrap();
    listener.get_ref().set_nonblocking(true).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let start = Instant::now();
    let clients: Vec<_> = [0u64, 200, 500]
        .into_iter()
        .map(|delay| {
            let mut stream = TcpStream::connect(addr).unwrap();
            thread::spawn(move || {
                sleep_until(start + Duration::from_millis(delay));
                stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
                stream // kept open until the server has accepted
            })
        })
        .collect();
    let accepted = tokio::task::spawn_blocking(move || {
        sleep_until(start + Duration::from_millis(1100));
        // The data is queued by now; nothing was accepted before (TCP_DEFER_ACCEPT or not,
        // this thread did not call accept).
        accept_n(&listener, 3, Instant::now() + Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert_eq!(accepted.len(), 3);
    let _clients: Vec<TcpStream> = clients.into_iter().map(|c| c.join().unwrap()).collect();

    let endpoint = serve_endpoint(&stats).await;
    let reply = util::get(endpoint, "/_last_data_recv").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    // The exact rows of the nominal waits: the gem's text for 1100, 900 and 600.
    let nominal: Aggregate = [1100, 900, 600].into_iter().collect();
    assert_eq!(reply.body, nominal.to_string(), "headers:\n{}", reply.head);
    assert!(reply.body.contains("  512 |"), "{}", reply.body);
    let header = |name: &str| -> i64 { reply.header(name).unwrap().parse().unwrap() };
    assert_eq!(header("x-count"), 3);
    assert!((560..760).contains(&header("x-min")), "{}", reply.head);
    assert!((1080..1300).contains(&header("x-max")), "{}", reply.head);
    assert!((760..1000).contains(&header("x-mean")), "{}", reply.head);
    assert_eq!(header("x-outliers-low"), 0);
    assert_eq!(header("x-outliers-high"), 0);
    // Nearest rank: p50 is the middle wait, p90 and above the longest (within 1/128).
    let (min, max) = (header("x-min"), header("x-max"));
    assert!(header("x-p50") > min && header("x-p50") < max, "{}", reply.head);
    for p in ["x-p90", "x-p99", "x-p99.9"] {
        assert!(header(p).abs_diff(max) <= (max as u64).div_ceil(128), "{p}: {}", reply.head);
    }

    let json = util::get(endpoint, "/_last_data_recv.json").await;
    let json: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(json["count"], 3);
    assert_eq!(
        json["buckets"],
        serde_json::json!([{"value": "512", "count": 2}, {"value": "1024", "count": 1}])
    );
    assert_eq!(json["percentiles"]["p50"], header("x-p50"));
    assert_eq!(json["min"], min);

    let metrics = util::get(endpoint, "/_last_data_recv/metrics").await.body;
    let family = "raindrops_last_data_recv_milliseconds";
    for (le, count) in [("511", 0), ("1023", 2), ("2047", 3), ("+Inf", 3)] {
        let line = format!("{family}_bucket{{le=\"{le}\"}} {count}\n");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
    assert!(metrics.contains(&format!("{family}_count 3\n")), "{metrics}");
    let quantiles = "raindrops_last_data_recv_quantiles_milliseconds";
    assert!(metrics.contains(&format!("{quantiles}{{quantile=\"0.5\"}} {}\n", header("x-p50"))));
    assert!(metrics.ends_with("# EOF\n"));
}

/// With a 2 s defer (3 s after the kernel's rounding), a client that never sends is not
/// accepted before 2 s, while one that sends at once is; the silent one is accepted, without
/// data, once the kernel's last SYN-ACK retransmit is acknowledged.
#[tokio::test]
async fn a_silent_client_waits_for_the_defer_timeout() {
    let stats = LastDataRecv::new(1).unwrap().defer_accept(Duration::from_secs(2));
    let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listener = stats.listener(inner, 0).unwrap();
    assert_eq!(raindrops::defer_accept(listener.get_ref()).unwrap(), Duration::from_secs(3));
    let addr = listener.get_ref().local_addr().unwrap();
    let start = Instant::now();
    let silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut talker = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut talker, b"x").await.unwrap();

    let limit = Duration::from_secs(10);
    let (_first, peer) =
        tokio::time::timeout(limit, listener.accept_async()).await.unwrap().unwrap();
    assert_eq!(peer, talker.local_addr().unwrap(), "the client with data comes first");
    let (_second, peer) =
        tokio::time::timeout(limit, listener.accept_async()).await.unwrap().unwrap();
    assert_eq!(peer, silent.local_addr().unwrap());
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(2), "the silent client was accepted after {waited:?}");
    assert_eq!(stats.aggregate().snapshot().count, 2);
}

/// `axum::serve` over the wrapper: every connection is recorded before its request is
/// answered, so the k-th request sees `X-Count: k`; `ConnectInfo<Peer>` works.
#[tokio::test]
async fn axum_serve_records_each_connection() {
    let stats = LastDataRecv::new(1).unwrap();
    let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listener = stats.listener(inner, 0).unwrap();
    let addr = axum::serve::Listener::local_addr(&listener).unwrap();
    let app = axum::Router::new()
        .route(
            "/who",
            axum::routing::get(
                |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<Peer>| async move {
                    format!("{peer:?}")
                },
            ),
        )
        .fallback_service(stats.service());
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<Peer>()).await
    });
    for k in 1..=3 {
        let reply = util::get(addr, "/_last_data_recv").await;
        assert_eq!(reply.header("x-count"), Some(k.to_string().as_str()));
    }
    let who = util::get(addr, "/who").await;
    assert!(who.body.starts_with("Tcp(127.0.0.1:"), "{}", who.body);
    // Requests are sent with the connection: their data waited (almost) nothing.
    let snapshot = stats.aggregate().snapshot();
    assert_eq!(snapshot.count, 4);
}
