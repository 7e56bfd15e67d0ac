//! The Watcher over real listener stats from the kernel, served on loopback.
#![cfg(target_os = "linux")]

mod util;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use raindrops::Aggregate;
use raindrops_http::kernel::KernelListeners;
use raindrops_http::watcher::Watcher;

/// A listener with 3 accepted and 2 queued connections; keep the tuple alive.
fn fixture() -> (TcpListener, Vec<TcpStream>, Vec<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let clients: Vec<_> = (0..5).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let accepted: Vec<_> = (0..3).map(|_| listener.accept().unwrap().0).collect();
    (listener, clients, accepted)
}

async fn serve(watcher: &Watcher) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = watcher.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn endpoints_over_a_real_listener() {
    let (listener, _clients, _accepted) = fixture();
    let watched = listener.local_addr().unwrap();
    let kernel = KernelListeners::addrs(vec![watched.into()]).unwrap();
    let watcher = Watcher::new(kernel, Duration::from_millis(50)).unwrap();
    let addr = serve(&watcher).await;
    let escaped = format!("127.0.0.1%3A{}", watched.port());

    let index = util::get(addr, "/").await;
    assert_eq!(index.status, 200);
    assert_eq!(index.header("content-type"), Some("text/html"));
    assert!(index.body.contains(&format!(
        "<td><a href='tail/{escaped}.txt' title='&quot;tail&quot; output in real time'>{watched}</a></td>\
         <td><a href='active/{escaped}.html' title='show active connection stats'>3</a></td>\
         <td><a href='queued/{escaped}.html' title='show queued connection stats'>2</a></td>"
    )), "{}", index.body);

    let queued = util::get(addr, &format!("/queued/{escaped}.txt")).await;
    assert_eq!(queued.status, 200);
    assert_eq!(queued.header("content-type"), Some("text/plain"));
    assert_eq!(queued.header("x-current"), Some("2"));
    assert_eq!(queued.header("x-min"), Some("2"));
    assert_eq!(queued.header("x-max"), Some("2"));
    assert_eq!(queued.header("x-mean"), Some("2.0"));
    let count: u64 = queued.header("x-count").unwrap().parse().unwrap();
    let mut expected = Aggregate::new();
    expected.extend(std::iter::repeat_n(2, count as usize));
    assert_eq!(queued.body, expected.to_string());

    let active = util::get(addr, &format!("/active/{escaped}.json")).await;
    let json: serde_json::Value = serde_json::from_str(&active.body).unwrap();
    assert_eq!((json["current"].as_u64(), json["min"].as_i64()), (Some(3), Some(3)));

    let head =
        util::request_from(addr, "HEAD", &format!("/active/{escaped}.txt"), "127.0.0.1").await;
    assert_eq!((head.status, head.body.as_str(), head.header("x-current")), (200, "", Some("3")));

    // Reset, then the next sample is the only one counted.
    let reset = util::request_from(addr, "POST", &format!("/reset/{escaped}"), "127.0.0.1").await;
    assert_eq!((reset.status, reset.header("location")), (302, Some("/")));
    let after = util::get(addr, &format!("/queued/{escaped}.txt")).await;
    assert!(after.header("x-count").unwrap().parse::<u64>().unwrap() <= 1);

    // A valid address that is not watched: an empty histogram.
    let empty = util::get(addr, "/active/127.0.0.1%3A1.txt").await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body, Aggregate::new().to_string());
    assert_eq!(empty.header("x-count"), Some("0"));
    assert_eq!(empty.header("x-mean"), Some("NaN"));
    assert_eq!(empty.header("x-std-dev"), Some("NaN"));

    assert_eq!(util::get(addr, "/active/localhost%3A80.txt").await.status, 404);
    assert_eq!(util::get(addr, "/nope").await.status, 404);
    assert_eq!(util::request_from(addr, "PUT", "/", "127.0.0.1").await.status, 405);
    let unknown = util::request_from(addr, "POST", "/reset/127.0.0.1%3A1", "127.0.0.1").await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn tail_streams_lines_that_reach_the_minimums() {
    let (listener, _clients, _accepted) = fixture();
    let watched = listener.local_addr().unwrap();
    let kernel = KernelListeners::addrs(vec![watched.into()]).unwrap();
    let watcher = Watcher::new(kernel, Duration::from_millis(50)).unwrap();
    let addr = serve(&watcher).await;
    let path = format!("/tail/127.0.0.1%3A{}.txt", watched.port());

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).await.unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while seen.matches(" 2\n").count() < 2 {
        assert!(std::time::Instant::now() < deadline, "no tail lines: {seen}");
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "tail closed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("transfer-encoding: chunked"), "{seen}");
    assert!(seen.contains("cache-control: no-transform"), "{seen}");
    let line = seen.lines().find(|l| l.ends_with(" 2")).unwrap();
    let width = watched.to_string().len();
    assert_eq!(&line[20..], format!(" {watched:>width$} {:>10} {:>10}", 3, 2));

    // queued_min above the truth: nothing within a few samples.
    let mut quiet = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path}?queued_min=3 HTTP/1.1\r\nHost: t\r\n\r\n");
    quiet.write_all(req.as_bytes()).await.unwrap();
    let mut head = vec![0u8; 4096];
    let n = quiet.read(&mut head).await.unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"));
    let more = tokio::time::timeout(Duration::from_millis(300), quiet.read(&mut head)).await;
    assert!(more.is_err(), "no line should reach queued_min=3");
}
