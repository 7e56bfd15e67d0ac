//! The O(1) listener path (counting accept wrapper + TCP_INFO) against the kernel's sock_diag
//! answer, on real loopback and Unix listeners.
#![cfg(target_os = "linux")]

mod util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use raindrops_http::exposition::ListenerSample;
use raindrops_http::listeners::{
    ConnectionCounts, CountingListener, KernelListeners, Listeners, OwnedListeners, Peer,
};
use raindrops_http::middleware::{HttpStats, RaindropsLayer};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// Polls both sources until each reports `expected` (bounded: 30 s).
fn both_report(owned: &OwnedListeners, kernel: &KernelListeners, expected: &[ListenerSample]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (ours, mut theirs) = (owned.sample().unwrap(), kernel.sample().unwrap());
        // The kernel also gives the queued connections' ages, which the owned source does
        // not measure: the numbers compared are addr, active and queued.
        theirs.iter_mut().for_each(|l| l.wait = None);
        if ours == expected && theirs == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "owned {ours:?}\nkernel {theirs:?}\nexpected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn sample(addr: &str, active: u64, queued: u64) -> ListenerSample {
    ListenerSample { addr: addr.into(), active, queued, wait: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_and_kernel_paths_agree_at_quiescence() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("app.sock");
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idle = std::net::TcpListener::bind("127.0.0.1:0").unwrap(); // owned, never accepted
    let unix = UnixListener::bind(&sock).unwrap();
    let (tcp_addr, idle_addr) = (tcp.local_addr().unwrap(), idle.local_addr().unwrap());

    let counts = ConnectionCounts::new(1, 3).unwrap();
    // One source for the test's reads and the endpoint's.
    let owned = Arc::new(
        OwnedListeners::new(counts.clone())
            .unix(&unix)
            .unwrap()
            .tcp(&tcp)
            .unwrap()
            .tcp(&idle)
            .unwrap(),
    );
    let watched =
        vec![tcp_addr.into(), idle_addr.into(), raindrops::ListenerAddr::Unix(sock.clone())];
    let kernel = KernelListeners::addrs(watched).unwrap();
    let app = Router::new()
        .route("/", get(|| async { "hello\n" }))
        .layer(RaindropsLayer::new(HttpStats::per_cpu().unwrap()).listeners(Arc::clone(&owned)));
    let tcp = CountingListener::new(tcp, counts.counter(0, 1));
    let unix = CountingListener::new(unix, counts.counter(0, 0));
    let service = app.clone().into_make_service_with_connect_info::<Peer>();
    tokio::spawn(async move { axum::serve(tcp, service).await });
    let service = app.into_make_service_with_connect_info::<Peer>();
    tokio::spawn(async move { axum::serve(unix, service).await });

    let (tcp_name, idle_name) = (tcp_addr.to_string(), idle_addr.to_string());
    let unix_name = sock.display().to_string();
    both_report(
        &owned,
        &kernel,
        &[sample(&tcp_name, 0, 0), sample(&idle_name, 0, 0), sample(&unix_name, 0, 0)],
    );

    // 5 idle keep-alive TCP clients and 3 Unix ones, each after one request; 4 clients queued
    // on the listener nobody accepts on.
    let mut tcp_clients = Vec::new();
    for _ in 0..5 {
        let mut client = TcpStream::connect(tcp_addr).await.unwrap();
        assert_eq!(util::keep_alive_get(&mut client, "/").await, "hello\n");
        tcp_clients.push(client);
    }
    let mut unix_clients = Vec::new();
    for _ in 0..3 {
        let mut client = UnixStream::connect(&sock).await.unwrap();
        assert_eq!(util::keep_alive_get(&mut client, "/").await, "hello\n");
        unix_clients.push(client);
    }
    let mut queued = Vec::new();
    for _ in 0..4 {
        queued.push(TcpStream::connect(idle_addr).await.unwrap());
    }
    let expected = [sample(&tcp_name, 5, 0), sample(&idle_name, 0, 4), sample(&unix_name, 3, 0)];
    both_report(&owned, &kernel, &expected);

    // The endpoint, asked on an idle TCP connection and on a Unix one (a local peer), shows
    // the same numbers.
    let body = format!(
        "calling: 0\nwriting: 0\n{tcp_name} active: 5\n{tcp_name} queued: 0\n\
         {idle_name} active: 0\n{idle_name} queued: 4\n\
         {unix_name} active: 3\n{unix_name} queued: 0\n"
    );
    assert_eq!(util::keep_alive_get(&mut tcp_clients[0], "/_raindrops").await, body);
    assert_eq!(util::keep_alive_get(&mut unix_clients[0], "/_raindrops").await, body);

    // Clients leave: the server drops their connections and both paths follow. A client that
    // gives up while queued stays in the accept queue until someone accepts it: still 4.
    tcp_clients.truncate(2);
    unix_clients.clear();
    queued.truncate(1);
    both_report(
        &owned,
        &kernel,
        &[sample(&tcp_name, 2, 0), sample(&idle_name, 0, 4), sample(&unix_name, 0, 0)],
    );
}

#[test]
fn retiring_a_worker_drops_its_connections_from_the_sum() {
    let counts = ConnectionCounts::new(2, 2).unwrap();
    for _ in 0..3 {
        counts.counter(0, 1).enter();
    }
    counts.counter(1, 1).enter();
    counts.counter(1, 0).enter();
    assert_eq!((counts.active(0), counts.active(1)), (1, 4));
    counts.retire(1);
    assert_eq!((counts.active(0), counts.active(1)), (0, 3));
    counts.retire(7); // out of range: ignored
    assert_eq!(counts.active(1), 3);
}

#[test]
fn too_many_listeners_is_an_error_not_a_panic() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let counts = ConnectionCounts::new(1, 1).unwrap();
    let err = OwnedListeners::new(counts).tcp(&listener).unwrap().tcp(&listener).unwrap_err();
    assert_eq!(err.to_string(), "the connection counts have 1 listener columns, all taken");
    assert!(ConnectionCounts::new(usize::MAX, 2).is_err());
}
