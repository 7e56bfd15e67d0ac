//! The accept wrappers record each accepted connection's time in the accept queue
//! (`tcpi_last_data_sent` right after `accept`): real connections on loopback held in the queue
//! for 0.3 s by the test's own clock, with and without request bytes, and forked workers
//! recording into one `SharedAggregate`; a real Prometheus computes quantiles of the histogram.

mod util;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use axum::serve::Listener;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};
use raindrops::SharedAggregate;
use raindrops_http::last_data_recv::LastDataRecv;
use raindrops_http::listeners::{ConnectionCounts, CountingListener};
use raindrops_http::middleware::{HttpStats, RaindropsLayer};
use raindrops_test_support::external::PROMETHEUS;
use raindrops_test_support::require_external;
use util::prometheus::Prometheus;

/// How long each connection is held in the queue.
const HOLD: Duration = Duration::from_millis(300);
/// The kernel's stamps are jiffies: a wait may read up to one jiffy (10 ms at HZ=100, the
/// coarsest) short of, or over, the true one.
const JIFFY_MS: u128 = 10;

/// When the client's request goes out.
#[derive(Clone, Copy, Debug)]
enum Request {
    Never,
    AtOnce,
    /// 200 ms after connecting: the time since the request is not the time in the queue.
    Later,
}

/// A client connected to `addr`, its request sent as `request` says, held in the queue for
/// [`HOLD`]; then `accept` runs. Returns the bounds of the true wait by the test's clock:
/// from after `connect` returned to before `accept` (at least [`HOLD`]), and from before
/// `connect` to after `accept`; and the client, to keep the connection open.
fn held<F: FnOnce()>(addr: SocketAddr, request: Request, accept: F) -> (u128, u128, TcpStream) {
    let t0 = Instant::now();
    let mut client = TcpStream::connect(addr).expect("connect");
    let t1 = Instant::now();
    match request {
        Request::Never => {}
        Request::AtOnce => client.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write"),
        Request::Later => {
            std::thread::sleep(Duration::from_millis(200));
            client.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write");
        }
    }
    std::thread::sleep(HOLD.saturating_sub(t1.elapsed()));
    let t2 = Instant::now();
    accept();
    let t3 = Instant::now();
    ((t2 - t1).as_millis(), (t3 - t0).as_millis(), client)
}

/// The one sample `aggregate` gained while `f` ran.
fn recorded(aggregate: &SharedAggregate, f: impl FnOnce()) -> i128 {
    let before = aggregate.snapshot();
    f();
    let after = aggregate.snapshot();
    assert_eq!(after.count, before.count + 1, "one wait recorded");
    i128::from(after.sum) - i128::from(before.sum)
}

fn assert_within(waited: i128, (lower, upper): (u128, u128), what: &str) {
    assert!(lower >= HOLD.as_millis(), "{what}: held {lower} ms");
    let (lower, upper) = (lower.saturating_sub(JIFFY_MS) as i128, (upper + JIFFY_MS) as i128);
    assert!(
        (lower..=upper).contains(&waited),
        "{what}: recorded {waited} ms, held {lower}..={upper} ms by the test's clock"
    );
    eprintln!("{what}: recorded {waited} ms, held {lower}..={upper} ms");
}

#[test]
fn counting_listener_records_how_long_each_connection_was_held_in_the_queue() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let counts = ConnectionCounts::new(1, 1).unwrap();
    for bind in ["127.0.0.1:0", "[::1]:0"] {
        let inner = runtime.block_on(tokio::net::TcpListener::bind(bind)).expect(bind);
        let addr = inner.local_addr().unwrap();
        let mut listener = CountingListener::new(inner, counts.counter(0, 0));
        for request in [Request::Never, Request::AtOnce, Request::Later] {
            let mut bounds = (0, 0);
            let mut client = None;
            let waited = recorded(counts.accept_waits(), || {
                let (lower, upper, c) = held(addr, request, || {
                    drop(runtime.block_on(listener.accept()));
                });
                (bounds, client) = ((lower, upper), Some(c));
            });
            assert_within(waited, bounds, &format!("{bind} {request:?}"));
            drop(client);
        }
    }
}

#[test]
fn counting_listener_records_no_wait_for_unix_connections() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let counts = ConnectionCounts::new(1, 1).unwrap();
    let _guard = runtime.enter();
    let mut listener =
        CountingListener::new(tokio::net::UnixListener::bind(&path).unwrap(), counts.counter(0, 0));
    let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
    let (stream, _) = runtime.block_on(listener.accept());
    assert_eq!(counts.active(0), 1);
    assert_eq!(counts.accept_waits().snapshot().count, 0, "a Unix stream has no TCP_INFO");
    drop(stream);
}

#[test]
fn last_data_recv_listener_records_the_wait_beside_last_data_recv() {
    let stats = LastDataRecv::new(1).unwrap();
    let waits = SharedAggregate::new(1).unwrap();
    let inner = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = inner.local_addr().unwrap();
    let listener = stats.listener(inner, 0).unwrap().accept_waits(waits.recorder(0));
    // Under TCP_DEFER_ACCEPT the connection is made (and its wait starts) with its request.
    let mut bounds = (0, 0);
    let waited = recorded(&waits, || {
        let (lower, upper, _client) = held(addr, Request::AtOnce, || {
            listener.accept().expect("accept");
        });
        bounds = (lower, upper);
    });
    assert_within(waited, bounds, "LastDataRecv listener");
    assert_eq!(stats.aggregate().snapshot().count, 1);
}

#[test]
fn forked_workers_record_into_one_aggregate() {
    const EACH: [usize; 2] = [3, 5];
    let counts = ConnectionCounts::new(2, 1).unwrap();
    let listeners: Vec<std::net::TcpListener> =
        (0..2).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    // Clients first, queued before the workers exist: each worker accepts its own.
    let clients: Vec<TcpStream> = addrs
        .iter()
        .zip(EACH)
        .flat_map(|(&addr, n)| (0..n).map(move |_| TcpStream::connect(addr).unwrap()))
        .collect();
    let mut pids = Vec::new();
    for (worker, listener) in listeners.iter().enumerate() {
        // SAFETY: no tokio runtime runs in the test process; the child builds its own and
        // leaves with `_exit`, never returning into the test harness.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                let code = accept_all(listener, &counts, worker, EACH[worker]);
                // SAFETY: ends the forked child at once.
                unsafe { nix::libc::_exit(code) }
            }
            ForkResult::Parent { child } => pids.push(child),
        }
    }
    for pid in pids {
        assert_eq!(waitpid(pid, None).unwrap(), WaitStatus::Exited(pid, 0));
    }
    let snapshot = counts.accept_waits().snapshot();
    assert_eq!(snapshot.count, EACH.iter().sum::<usize>() as u64);
    assert!(snapshot.outliers_low == 0 && snapshot.min.is_some_and(|m| m >= 0));
    drop(clients);
}

/// In a forked worker: accepts `n` connections from `listener` with a `CountingListener` in
/// row `worker`; 0 when it did.
fn accept_all(
    listener: &std::net::TcpListener,
    counts: &ConnectionCounts,
    worker: usize,
    n: usize,
) -> i32 {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return 2;
    };
    runtime.block_on(async {
        let Ok(std) = listener.try_clone() else { return 3 };
        if std.set_nonblocking(true).is_err() {
            return 4;
        }
        let Ok(inner) = tokio::net::TcpListener::from_std(std) else { return 5 };
        let mut listener = CountingListener::new(inner, counts.counter(worker, 0));
        for _ in 0..n {
            let accepted = tokio::time::timeout(Duration::from_secs(30), listener.accept()).await;
            if accepted.is_err() {
                return 6;
            }
        }
        0
    })
}

#[test]
fn a_real_prometheus_gets_quantiles_of_the_accept_waits() {
    let program = require_external!(PROMETHEUS);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let counts = ConnectionCounts::new(1, 1).unwrap();
    let inner = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = inner.local_addr().unwrap();
    let mut listener = CountingListener::new(inner, counts.counter(0, 0));
    // Four connections held 0.3 s in the queue, by the test's clock.
    let (mut lowest, mut highest) = (u128::MAX, 0);
    for request in [Request::Never, Request::AtOnce, Request::Later, Request::AtOnce] {
        let (lower, upper, _client) = held(addr, request, || {
            drop(runtime.block_on(listener.accept()));
        });
        (lowest, highest) = (lowest.min(lower), highest.max(upper));
    }
    // The stats on a listener of their own, so Prometheus' connections add no waits.
    let layer = RaindropsLayer::new(HttpStats::per_cpu().unwrap())
        .metrics_path("/metrics")
        .accept_waits(counts.accept_waits().clone());
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" })).layer(layer);
    let stats = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let target = stats.local_addr().unwrap();
    runtime.spawn(async move {
        axum::serve(stats, app.into_make_service_with_connect_info::<SocketAddr>()).await
    });
    let mut prometheus = Prometheus::start(&program, target);
    let value = |answer: &serde_json::Value| -> Option<f64> {
        answer["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    runtime.block_on(async {
        let count = prometheus.wait_for("raindrops_accept_wait_seconds_count", value).await;
        assert_eq!(count, 4.0);
        // histogram_quantile(0.5, raindrops_accept_wait_seconds_bucket): all four are in the
        // bucket (0.255, 0.511], and Prometheus interpolates within it.
        let median = prometheus
            .wait_for("histogram_quantile%280.5%2Craindrops_accept_wait_seconds_bucket%29", value)
            .await;
        assert!(0.255 < median && median <= 0.511, "median {median}");
        let mean = prometheus
            .wait_for(
                "raindrops_accept_wait_seconds_sum%2Fraindrops_accept_wait_seconds_count",
                value,
            )
            .await;
        let (lower, upper) = (lowest.saturating_sub(JIFFY_MS), highest + JIFFY_MS);
        assert!(
            (lower as f64 / 1000.0..=upper as f64 / 1000.0).contains(&mean),
            "mean {mean} s, held {lower}..={upper} ms"
        );
        eprintln!("Prometheus: median {median} s, mean {mean} s, held {lower}..={upper} ms");
    });
}
