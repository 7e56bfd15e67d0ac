//! LastDataRecv on loopback: real clients, real TCP_DEFER_ACCEPT, a real HTTP endpoint.
#![cfg(target_os = "linux")]

mod util;

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use raindrops::Aggregate;
use raindrops_http::last_data_recv::{LastDataRecv, RecordingListener};
use raindrops_http::listeners::Peer;

/// Serves `stats`' endpoint on a plain (not recording) loopback listener.
async fn serve_endpoint(stats: &LastDataRecv) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback_service(stats.service());
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// `tcpi_last_data_recv` counts jiffies: it may differ from the time it measures by one
/// jiffy, 10 ms at the lowest HZ Linux builds with.
const JIFFY_MS: u64 = 10;

/// When a call happened, as the test's clock saw it: just before it and just after it.
#[derive(Debug, Clone, Copy)]
struct Span {
    before: Instant,
    after: Instant,
}

/// Runs `f`, noting the span it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Span) {
    let before = Instant::now();
    let value = f();
    (value, Span { before, after: Instant::now() })
}

/// Milliseconds from `from` to `to`, or 0 if `to` comes first.
fn ms(from: Instant, to: Instant) -> u64 {
    to.saturating_duration_since(from).as_millis() as u64
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

/// Sends a request on `stream` and waits until the listener has queued `queued` connections
/// (with `TCP_DEFER_ACCEPT`, a connection is queued when its data arrives): the span holds
/// the moment the kernel received the data.
fn send(
    stream: &mut TcpStream,
    listener: &RecordingListener<std::net::TcpListener>,
    queued: u32,
) -> Span {
    let ((), span) = timed(|| {
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while raindrops::local_queue(listener.get_ref()).unwrap().queued < queued {
            assert!(Instant::now() < deadline, "the data never reached the accept queue");
            thread::yield_now();
        }
    });
    span
}

/// One run of the 3-client scenario: what the endpoint must show, and the clients' and
/// server's streams (kept open until the endpoint was asked).
struct Run {
    stats: LastDataRecv,
    /// Each client's wait in the accept queue, in ms: at least `.0`, at most `.1`.
    waits: [(u64, u64); 3],
    _streams: Vec<TcpStream>,
}

/// The buckets the three waits must land in: [1024, 2047] and twice [512, 1023].
const BUCKETS: [(u64, u64); 3] = [(1024, 2047), (512, 1023), (512, 1023)];

/// Three clients connect at once and send one after the other, 410 then 100 ms apart; the
/// server accepts them all as soon as every wait has reached its bucket (the first ≥ 1024 ms,
/// the others ≥ 512 ms), which leaves ~370 ms before the later two leave theirs. The sleeps
/// only ever make the waits longer, so each lower bound holds by construction; each upper
/// bound comes from the test's own clock around the sends and the accepts. A run that the
/// scheduler held past the upper bounds (a very busy machine) is `None`: run it again.
fn run_three_clients() -> Option<Run> {
    let stats = LastDataRecv::new(1).unwrap();
    let listener = stats.listener(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), 0).unwrap();
    listener.get_ref().set_nonblocking(true).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let mut clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut sent = Vec::new();
    for (i, gap) in [0u64, 410, 100].into_iter().enumerate() {
        if let Some(previous) = sent.last().map(|s: &Span| s.after) {
            thread::sleep(
                (previous + Duration::from_millis(gap)).saturating_duration_since(Instant::now()),
            );
        }
        sent.push(send(&mut clients[i], &listener, i as u32 + 1));
    }
    // Nothing was accepted before (TCP_DEFER_ACCEPT or not, this thread did not call accept).
    let due = sent
        .iter()
        .zip(BUCKETS)
        .map(|(s, (low, _))| s.after + Duration::from_millis(low + JIFFY_MS))
        .max()
        .unwrap();
    thread::sleep(due.saturating_duration_since(Instant::now()));
    let (accepted, accept) =
        timed(|| accept_n(&listener, 3, Instant::now() + Duration::from_secs(30)));
    let waits: [(u64, u64); 3] = std::array::from_fn(|i| {
        let low = ms(sent[i].after, accept.before).saturating_sub(JIFFY_MS);
        (low, ms(sent[i].before, accept.after) + JIFFY_MS)
    });
    if waits.iter().zip(BUCKETS).any(|(&(_, high), (_, top))| high > top) {
        eprintln!("the scheduler held this run past its window ({waits:?}): again");
        return None;
    }
    clients.extend(accepted);
    Some(Run { stats, waits, _streams: clients })
}

/// Three clients' data waits ~1050, ~640 and ~540 ms in the accept queue: rows 1024 (1) and
/// 512 (2), in every format, with the numbers within the bounds the test's clock gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_in_the_accept_queue_land_in_their_log2_buckets() {
    let Run { stats, waits, _streams } = tokio::task::spawn_blocking(|| {
        (0..5).find_map(|_| run_three_clients()).expect("5 runs, each held past its window")
    })
    .await
    .unwrap();
    for (&(low, _), (bottom, _)) in waits.iter().zip(BUCKETS) {
        assert!(low >= bottom, "{waits:?}");
    }

    let endpoint = serve_endpoint(&stats).await;
    let reply = util::get(endpoint, "/_last_data_recv").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    // The exact rows of waits in those buckets: the gem's text.
    let nominal: Aggregate = waits.iter().map(|&(low, _)| low as i64).collect();
    assert_eq!(reply.body, nominal.to_string(), "headers:\n{}", reply.head);
    assert!(reply.body.contains("  512 |"), "{}", reply.body);
    let header = |name: &str| -> i64 { reply.header(name).unwrap().parse().unwrap() };
    let within = |value: i64, (low, high): (u64, u64)| (low as i64..=high as i64).contains(&value);
    assert_eq!(header("x-count"), 3);
    assert!(within(header("x-min"), waits[2]), "{waits:?}\n{}", reply.head);
    assert!(within(header("x-max"), waits[0]), "{waits:?}\n{}", reply.head);
    let sum = |pick: fn(&(u64, u64)) -> u64| waits.iter().map(pick).sum::<u64>();
    let mean = (sum(|w| w.0) / 3, sum(|w| w.1).div_ceil(3)); // X-Mean is rounded
    assert!(within(header("x-mean"), mean), "{waits:?}\n{}", reply.head);
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

    let limit = Duration::from_secs(30);
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
