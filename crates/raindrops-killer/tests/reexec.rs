//! The re-exec adapter: a single-process server recycles itself under load, handing its
//! listening socket to each new generation, with no failed request.
//!
//! This test binary is also the server: started with `RAINDROPS_TEST_SERVER` set, it serves
//! (and its re-executed generations, which inherit the variable, serve after it).
#![cfg(target_os = "linux")]

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use raindrops_killer::{KillerLayer, Policy, Recycler, Reexec};
use tower::{ServiceBuilder, service_fn};

const SERVER_VAR: &str = "RAINDROPS_TEST_SERVER";
const MIN_REQUESTS: u64 = 100;
const MAX_REQUESTS: u64 = 150;
const CLIENTS: usize = 4;
const REQUESTS_PER_CLIENT: usize = 300;
const DEADLINE: Duration = Duration::from_secs(120);

fn main() -> ExitCode {
    if std::env::var_os(SERVER_VAR).is_some() {
        return server();
    }
    print!("test a_single_process_server_recycles_under_load_with_no_failed_request ... ");
    a_single_process_server_recycles_under_load_with_no_failed_request();
    println!("ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
    ExitCode::SUCCESS
}

/// One generation of the server: answers `pid inode port` after 1 ms, recycles after
/// 100..=150 requests.
fn server() -> ExitCode {
    let Ok(runtime) =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
    else {
        return ExitCode::from(10);
    };
    let result = runtime.block_on(async {
        let (reexec, inherited) = Reexec::from_env()?;
        let listener = match inherited.into_iter().next() {
            Some(listener) => listener,
            None => {
                let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
                // Accepted only with its request: a connection a generation accepts never
                // waits for a client the busy machine has not yet run, so the hand-over's
                // settle (a time, for requests on their way) decides nothing here.
                raindrops::set_defer_accept(&listener, Duration::from_secs(60))?;
                // The first generation tells the test where it listens.
                println!("{}", listener.local_addr()?.port());
                listener
            }
        };
        let inode = nix::sys::stat::fstat(&listener)?.st_ino;
        let port = listener.local_addr()?.port();
        let pid = std::process::id();
        let policy = Policy::new().max_requests(MIN_REQUESTS..=MAX_REQUESTS);
        let recycler = Recycler::new(&policy, reexec.clone()).map_err(std::io::Error::other)?;
        let app = ServiceBuilder::new().layer(KillerLayer::new(recycler)).service(service_fn(
            move |_: http::Request<hyper::body::Incoming>| async move {
                // Long enough for requests to be in flight at every hand-over.
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok::<_, Infallible>(http::Response::new(format!("{pid} {inode} {port}\n")))
            },
        ));
        let served = reexec.settle(Duration::from_millis(200)).serve(vec![listener], app).await?;
        std::io::Result::Ok(served.drained)
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(11),
        Err(err) => {
            eprintln!("server {}: {err}", std::process::id());
            ExitCode::from(12)
        }
    }
}

/// One request on a new connection; the body, or what went wrong.
fn get(addr: SocketAddr) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| format!("read: {e}"))?;
    let (head, body) =
        response.split_once("\r\n\r\n").ok_or(format!("incomplete: {response:?}"))?;
    if !head.starts_with("HTTP/1.1 200 ") {
        return Err(format!("status: {head:?}"));
    }
    Ok(body.to_owned())
}

#[expect(clippy::zombie_processes, reason = "every generation is reaped by `stop_and_reap`")]
fn a_single_process_server_recycles_under_load_with_no_failed_request() {
    // Orphaned generations become our children, so we can reap them.
    nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    let mut first = Command::new(std::env::current_exe().unwrap())
        .env(SERVER_VAR, "1")
        .process_group(0) // every generation stays in this group, ours to stop
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server");
    let group = Pid::from_raw(first.id() as i32);
    let mut port = String::new();
    BufReader::new(first.stdout.take().unwrap()).read_line(&mut port).expect("the port");
    let addr: SocketAddr = format!("127.0.0.1:{}", port.trim()).parse().expect("a port number");

    let deadline = Instant::now() + DEADLINE;
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (bodies, failures) = (Arc::clone(&bodies), Arc::clone(&failures));
            std::thread::spawn(move || {
                for _ in 0..REQUESTS_PER_CLIENT {
                    if Instant::now() > deadline {
                        failures.lock().unwrap().push("deadline".to_owned());
                        return;
                    }
                    match get(addr) {
                        Ok(body) => bodies.lock().unwrap().push(body),
                        Err(err) => failures.lock().unwrap().push(err),
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    let bodies = bodies.lock().unwrap().clone();
    let failures = failures.lock().unwrap().clone();

    // Who served: pid → (listener inode, port), in order of first answer.
    let mut order = Vec::new();
    let mut seen = HashMap::new();
    for body in &bodies {
        let fields: Vec<u64> = body.split_whitespace().map(|f| f.parse().unwrap()).collect();
        let [pid, inode, port] = fields[..] else { panic!("bad body {body:?}") };
        if seen.insert(pid, (inode, port)).is_none() {
            order.push(pid);
        }
    }
    let statuses = stop_and_reap(group, &order);

    assert_eq!(failures, Vec::<String>::new(), "failed requests");
    assert_eq!(bodies.len(), CLIENTS * REQUESTS_PER_CLIENT);
    let first_listener = seen[&order[0]];
    assert_eq!(first_listener.1, u64::from(addr.port()));
    for (pid, listener) in &seen {
        assert_eq!(listener, &first_listener, "generation {pid} serves another socket");
    }
    // 1200 requests, recycled every 100..=150: at least 7 generations.
    assert!(
        order.len() >= 1 + (CLIENTS * REQUESTS_PER_CLIENT) / MAX_REQUESTS as usize - 1,
        "{order:?}"
    );
    // Every generation but the last exited by itself, having drained its requests.
    for pid in &order[..order.len() - 1] {
        assert_eq!(statuses.get(pid), Some(&Some(0)), "generation {pid}: {statuses:?}");
    }
    eprint!("({} generations, listener inode {}) ", order.len(), first_listener.0);
}

/// Waits (30 s at most) until every generation but the last has exited, stops the group,
/// and reaps everything; the exit code of each pid (None if killed by a signal).
fn stop_and_reap(group: Pid, order: &[u64]) -> BTreeMap<u64, Option<i32>> {
    let mut statuses = BTreeMap::new();
    // Reaps what has exited; true once no child is left.
    let reap = |statuses: &mut BTreeMap<u64, Option<i32>>, flags| loop {
        match waitpid(None::<Pid>, flags) {
            Ok(WaitStatus::Exited(pid, code)) => {
                statuses.insert(pid.as_raw() as u64, Some(code));
            }
            Ok(WaitStatus::Signaled(pid, _, _)) => {
                statuses.insert(pid.as_raw() as u64, None);
            }
            Ok(WaitStatus::StillAlive) => return false,
            Err(_) => return true,
            Ok(_) => {}
        }
    };
    let old = &order[..order.len().saturating_sub(1)];
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && !old.iter().all(|pid| statuses.contains_key(pid)) {
        reap(&mut statuses, Some(WaitPidFlag::WNOHANG));
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !reap(&mut statuses, Some(WaitPidFlag::WNOHANG)) {
        if Instant::now() > deadline {
            let _ = killpg(group, Signal::SIGKILL);
            reap(&mut statuses, None);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    statuses
}
