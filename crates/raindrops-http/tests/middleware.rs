//! The middleware in a real axum server on loopback, driven by a real HTTP/1.1 client.
#![cfg(target_os = "linux")]

mod util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use raindrops_http::middleware::{HttpStats, RaindropsLayer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};

/// Serves `app` on 127.0.0.1:0 in the background; returns its address.
async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
    });
    addr
}

async fn get_from(addr: SocketAddr, path: &str, source: &str) -> (u16, String, String) {
    let reply = util::request_from(addr, "GET", path, source).await;
    (reply.status, reply.head, reply.body)
}

async fn fetch(addr: SocketAddr, path: &str) -> (u16, String, String) {
    get_from(addr, path, "127.0.0.1").await
}

/// `calling` and `writing` as the endpoint reports them.
async fn gauges(addr: SocketAddr) -> (u64, u64) {
    let (status, _, body) = fetch(addr, "/_raindrops").await;
    assert_eq!(status, 200, "{body}");
    let value = |name: &str| -> u64 {
        let line = body.lines().find(|l| l.starts_with(name)).expect(name);
        line[name.len() + 2..].parse().unwrap()
    };
    (value("calling"), value("writing"))
}

/// Polls the endpoint until it reports `expected` (bounded: 30 s).
async fn wait_for(addr: SocketAddr, expected: (u64, u64)) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = gauges(addr).await;
        if now == expected {
            return;
        }
        assert!(Instant::now() < deadline, "gauges stuck at {now:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn concurrent_slow_requests_are_calling() {
    // Permits, not a notification: a handler that reaches its wait after the release (the
    // gauges count a request before its handler runs) still finds its permit.
    let release = Arc::new(Semaphore::new(0));
    let handler_release = Arc::clone(&release);
    let app = Router::new()
        .route(
            "/slow",
            get(move || {
                let release = Arc::clone(&handler_release);
                async move {
                    release.acquire().await.unwrap().forget();
                    "done"
                }
            }),
        )
        .layer(RaindropsLayer::new(HttpStats::per_cpu().unwrap()));
    let addr = serve(app).await;
    let clients: Vec<_> = (0..5).map(|_| tokio::spawn(fetch(addr, "/slow"))).collect();
    wait_for(addr, (5, 0)).await;
    release.add_permits(5);
    for client in clients {
        let (status, _, body) = client.await.unwrap();
        assert_eq!((status, body.as_str()), (200, "done"));
    }
    wait_for(addr, (0, 0)).await;
}

#[tokio::test]
async fn streaming_body_is_writing_until_the_client_leaves() {
    let (tx, rx) = mpsc::channel::<Bytes>(1);
    let rx = Arc::new(tokio::sync::Mutex::new(Some(rx)));
    let app = Router::new()
        .route(
            "/stream",
            get(move || {
                let rx = Arc::clone(&rx);
                async move {
                    let rx = rx.lock().await.take().expect("one stream");
                    let stream = futures_stream(rx);
                    Body::from_stream(stream)
                }
            }),
        )
        .layer(RaindropsLayer::new(HttpStats::per_cpu().unwrap()));
    let addr = serve(app).await;

    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(b"GET /stream HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    tx.send(Bytes::from_static(b"first chunk")).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = client.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    wait_for(addr, (0, 1)).await;

    // The client goes away mid-body; the server finds out on its next writes.
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(30);
    while gauges(addr).await != (0, 0) {
        assert!(Instant::now() < deadline, "writing never came back to 0");
        // A send fails once the server has dropped the body: that is the point.
        let _ = tx.send(Bytes::from_static(b"more")).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A body stream from a channel, ending when the sender is dropped.
fn futures_stream(
    rx: mpsc::Receiver<Bytes>,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> {
    struct Stream(mpsc::Receiver<Bytes>);
    impl futures_core::Stream for Stream {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.0.poll_recv(cx).map(|chunk| chunk.map(Ok))
        }
    }
    Stream(rx)
}

#[tokio::test]
async fn a_panicking_handler_leaves_calling_at_zero() {
    let app = Router::new()
        .route(
            "/panic",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("handler panics on purpose");
                }
                "unreachable"
            }),
        )
        .layer(RaindropsLayer::new(HttpStats::per_cpu().unwrap()))
        .layer(tower_http::catch_panic::CatchPanicLayer::new());
    let addr = serve(app).await;
    let (status, _, _) = fetch(addr, "/panic").await;
    assert_eq!(status, 500);
    assert_eq!(gauges(addr).await, (0, 0));
}

#[tokio::test]
async fn a_request_cancelled_by_a_timeout_leaves_calling_at_zero() {
    let layer = RaindropsLayer::new(HttpStats::per_cpu().unwrap());
    // The handler reads `calling` itself as it starts: the 100 ms timeout may well fire
    // before a poll of the endpoint could see the request (a busy machine), never before the
    // handler's first poll.
    let workers = layer.workers().clone();
    let (seen, mut calling) = mpsc::channel::<u64>(1);
    let forever = move || {
        let (workers, seen) = (workers.clone(), seen.clone());
        async move {
            let calling = workers.sum().calling;
            seen.send(calling).await.unwrap();
            std::future::pending::<&'static str>().await
        }
    };
    let app = Router::new().route("/forever", get(forever)).layer(layer).layer(
        tower_http::timeout::TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(100),
        ),
    );
    let addr = serve(app).await;
    let client = tokio::spawn(fetch(addr, "/forever"));
    assert_eq!(calling.recv().await, Some(1), "calling while the handler runs");
    let (status, _, _) = client.await.unwrap();
    assert_eq!(status, 408);
    assert_eq!(gauges(addr).await, (0, 0));
}

#[tokio::test]
async fn endpoint_formats_and_headers() {
    let app = Router::new()
        .route("/", get(|| async { "hello\n" }))
        .layer(RaindropsLayer::new(HttpStats::per_cpu().unwrap()).metrics_path("/metrics"));
    let addr = serve(app).await;
    let (_, _, body) = fetch(addr, "/").await;
    assert_eq!(body, "hello\n");

    let (status, head, body) = fetch(addr, "/_raindrops").await;
    assert_eq!(status, 200);
    assert_eq!(body, "calling: 0\nwriting: 0\n");
    assert!(head.contains("content-type: text/plain\r\n"), "{head}");
    assert!(head.contains("content-length: 22\r\n"), "{head}");

    let (_, head, body) = fetch(addr, "/_raindrops.json").await;
    assert!(head.contains("content-type: application/json"), "{head}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    // The "/" request was counted; the stats requests were not.
    assert_eq!(
        json,
        serde_json::json!({"calling": 0, "writing": 0, "requests": 1, "listeners": []})
    );

    for path in ["/_raindrops/metrics", "/metrics"] {
        let (status, head, body) = fetch(addr, path).await;
        assert_eq!(status, 200);
        assert!(head.contains("application/openmetrics-text"), "{head}");
        assert!(body.contains("\nraindrops_calling 0\n") && body.ends_with("# EOF\n"), "{body}");
    }
}

#[tokio::test]
async fn a_peer_not_allowed_gets_the_app() {
    let app = Router::new().route("/", get(|| async { "hello\n" })).layer(
        RaindropsLayer::new(HttpStats::per_cpu().unwrap())
            .allow_only(vec!["127.0.0.1/32".parse().unwrap()]),
    );
    let addr = serve(app).await;
    let (status, _, _) = get_from(addr, "/_raindrops", "127.0.0.2").await;
    assert_eq!(status, 404, "the app's own 404");
    let (status, _, _) = get_from(addr, "/_raindrops", "127.0.0.1").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn exact_body_with_a_tcp_and_a_unix_listener_from_the_kernel() {
    use std::os::unix::net::UnixListener;

    // TCP: 3 clients, 1 accepted -> active 1, queued 2. Unix: idle -> 0, 0.
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_addr = tcp.local_addr().unwrap();
    let _clients: Vec<_> =
        (0..3).map(|_| std::net::TcpStream::connect(tcp_addr).unwrap()).collect();
    let _accepted = tcp.accept().unwrap();
    util::settle(tcp_addr, raindrops::ListenStats { active: 1, queued: 2 });
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("app.sock");
    let _unix = UnixListener::bind(&sock).unwrap();

    let kernel = raindrops_http::listeners::KernelListeners::addrs(vec![
        sock.to_str().unwrap().parse().unwrap(),
        tcp_addr.into(),
    ])
    .unwrap();
    let app = Router::new()
        .route("/", get(|| async { "hello\n" }))
        .layer(RaindropsLayer::new(HttpStats::per_cpu().unwrap()).listeners(kernel));
    let addr = serve(app).await;
    let (status, head, body) = fetch(addr, "/_raindrops").await;
    assert_eq!(status, 200);
    // TCP listeners first, then Unix ones, whatever order they were given in.
    let expected = format!(
        "calling: 0\nwriting: 0\n\
         {tcp_addr} active: 1\n{tcp_addr} queued: 2\n\
         {s} active: 0\n{s} queued: 0\n",
        s = sock.display()
    );
    assert_eq!(body, expected);
    assert!(head.contains(&format!("content-length: {}\r\n", expected.len())), "{head}");
}
