//! A small real HTTP/1.1 client over loopback sockets, shared by the integration tests.
#![allow(dead_code)]

pub(crate) mod browser;
pub(crate) mod cdp;
pub(crate) mod fixture;
pub(crate) mod prometheus;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use raindrops::{ListenStats, SockDiag};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpSocket;

/// A response: status, head (lowercase header names as sent), body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: String,
}

impl Reply {
    /// The value of header `name` (lowercase), if present.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(": ")?;
            key.eq_ignore_ascii_case(name).then_some(value)
        })
    }
}

/// Waits (30 s at most) until the kernel reports `want` for the TCP listener at `addr`: a
/// client's `connect` returns before the listener has queued the connection (the last ACK
/// crosses loopback on its own time), so numbers read at once may be short.
pub(crate) fn settle(addr: SocketAddr, want: ListenStats) {
    let mut diag = SockDiag::new().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = diag.tcp_stats(addr).unwrap();
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{addr}: {got:?}, expected {want:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `method path` from `source` (a loopback address) and reads the whole response.
pub(crate) async fn request_from(
    addr: SocketAddr,
    method: &str,
    path: &str,
    source: &str,
) -> Reply {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    exchange(stream, method, path, "Host: test\r\n").await
}

/// Sends `method path` with `headers` (`Name: value` lines, each ending in CRLF) and reads
/// the whole response.
pub(crate) async fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
) -> Reply {
    exchange(tokio::net::TcpStream::connect(addr).await.unwrap(), method, path, headers).await
}

async fn exchange(
    mut stream: tokio::net::TcpStream,
    method: &str,
    path: &str,
    headers: &str,
) -> Reply {
    let request = format!(
        "{method} {path} HTTP/1.1\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a complete response");
    Reply { status: head[9..12].parse().unwrap(), head: head.to_owned(), body: body.to_owned() }
}

/// `GET path` from 127.0.0.1.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> Reply {
    request_from(addr, "GET", path, "127.0.0.1").await
}

/// Sends one keep-alive `GET path` on `stream`, reads exactly one 200 response; returns its
/// body.
pub(crate) async fn keep_alive_get(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    path: &str,
) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert_ne!(n, 0, "connection closed mid-response: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        let Some((head, body)) = text.split_once("\r\n\r\n") else { continue };
        let length: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ")?.parse().ok())
            .expect("a content-length");
        if body.len() >= length {
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            return body.to_owned();
        }
    }
}

/// Header lines as `name: value` in the order sent, `name` lowercase, the values of date
/// headers masked as `<date>` (after checking they parse), and `date`, `content-length` and
/// `connection` left out.
pub(crate) fn header_lines(reply: &Reply) -> Vec<String> {
    mask_headers(reply.head.lines().skip(1).filter_map(|line| line.split_once(": ")))
}

/// [`header_lines`] of any `(name, value)` list.
pub(crate) fn mask_headers<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let dates = ["expires", "last-modified", "x-last-reset", "x-first-peak-at", "x-last-peak-at"];
    headers
        .filter_map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            if ["date", "content-length", "connection"].contains(&name.as_str()) {
                return None;
            }
            if dates.contains(&name.as_str()) {
                httpdate::parse_http_date(value).expect(value);
                return Some(format!("{name}: <date>"));
            }
            Some(format!("{name}: {value}"))
        })
        .collect()
}

/// Opens a tail (`GET path`, HTTP/1.1, `Host: test`) and returns its head and its first
/// line (the chunk framing stripped), waiting at most 30 s.
pub(crate) async fn first_tail_chunk(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            // Chunked: `SIZE\r\nDATA\r\n`.
            if let Some((size, rest)) = body.split_once("\r\n") {
                let size = usize::from_str_radix(size, 16).unwrap();
                if rest.len() >= size {
                    return (head.to_owned(), rest[..size].to_owned());
                }
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no tail line: {text}");
        let n = tokio::time::timeout(left, stream.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "tail closed: {text}");
        seen.extend_from_slice(&buf[..n]);
    }
}

/// [`first_tail_chunk`]'s line alone.
pub(crate) async fn first_tail_line(addr: SocketAddr, path: &str) -> String {
    first_tail_chunk(addr, path).await.1
}
