//! Two forked workers behind one listener share a `Workers` segment: the endpoint served by
//! either shows the sum, and retiring a SIGKILLed worker's row brings the numbers back to the
//! truth.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork};
use raindrops::{Drops, Workers};
use raindrops_http::middleware::{HttpStats, RaindropsLayer};

/// Forks a worker serving `listener` on its own runtime, counting in row `index`.
/// `/slow` answers once `release` slot 0 is non-zero (or after 120 s).
fn spawn_worker(
    listener: &TcpListener,
    workers: &Workers<HttpStats>,
    index: usize,
    release: &Arc<Drops>,
) -> Pid {
    // SAFETY: no tokio runtime runs in the test process at this point; the child builds its
    // own and leaves with `_exit`, never returning into the test harness.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let code = serve_worker(listener, workers, index, Arc::clone(release));
            // SAFETY: ends the forked child at once.
            unsafe { nix::libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    }
}

fn serve_worker(
    listener: &TcpListener,
    workers: &Workers<HttpStats>,
    index: usize,
    release: Arc<Drops>,
) -> i32 {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return 1;
    };
    let Ok(listener) = listener.try_clone() else { return 1 };
    let layer = RaindropsLayer::for_worker(workers.clone(), index);
    runtime.block_on(async move {
        let slow = get(move || {
            let release = Arc::clone(&release);
            async move {
                let deadline = Instant::now() + Duration::from_secs(120);
                while release.get(0) == 0 && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                "slow done\n"
            }
        });
        let app = Router::new().route("/slow", slow).layer(layer);
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return 1 };
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service).await.map_or(1, |()| 0)
    })
}

/// A blocking HTTP/1.1 request; returns the whole response, or `None` if the connection broke.
fn request(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.starts_with("HTTP/1.1 ").then_some(response)
}

/// `calling` as reported by whichever worker answers.
fn calling(addr: SocketAddr) -> u64 {
    let response = request(addr, "/_raindrops").expect("stats response");
    let line = response.lines().find(|l| l.starts_with("calling: ")).expect("calling line");
    line["calling: ".len()..].parse().expect("a number")
}

fn wait_for_calling(addr: SocketAddr, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let now = calling(addr);
        if now == expected {
            return;
        }
        seen.push(now);
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("calling never reached {expected}; saw {seen:?}");
}

#[test]
fn two_workers_report_the_sum_and_a_killed_workers_share_is_retired() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let workers = Workers::<HttpStats>::new(2).unwrap();
    let release = Arc::new(Drops::new(1).unwrap());
    let pids: Vec<Pid> = (0..2).map(|i| spawn_worker(&listener, &workers, i, &release)).collect();

    // Four slow requests, spread over the workers by the kernel.
    let clients: Vec<_> =
        (0..4).map(|_| std::thread::spawn(move || request(addr, "/slow"))).collect();
    wait_for_calling(addr, 4);
    let per_worker: Vec<u64> = (0..2).map(|i| workers.worker(i).calling().get()).collect();
    assert_eq!(per_worker.iter().sum::<u64>(), 4);

    // Worker 0 dies mid-request; the supervisor's part: reap it and retire its row.
    kill(pids[0], Signal::SIGKILL).unwrap();
    waitpid(pids[0], None).unwrap();
    workers.retire(0);
    // The truth: only worker 1's requests are still being served.
    wait_for_calling(addr, per_worker[1]);

    release.set(0, 1);
    let answered = clients
        .into_iter()
        .filter_map(|c| c.join().unwrap())
        .filter(|r| r.ends_with("slow done\n"))
        .count();
    assert_eq!(answered as u64, per_worker[1], "worker 1's clients got their answers");
    wait_for_calling(addr, 0);
    // Requests served so far are kept, including the dead worker's.
    assert!(workers.sum().requests >= 4);

    kill(pids[1], Signal::SIGKILL).unwrap();
    waitpid(pids[1], None).unwrap();
}
