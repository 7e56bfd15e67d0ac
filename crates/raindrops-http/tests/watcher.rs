//! The Watcher over real listener stats from the kernel, served on loopback: a TCP listener
//! with 3 accepted + 2 queued connections and a Unix listener, at a hostile path, with 1 + 4.
#![cfg(target_os = "linux")]

mod util;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use raindrops::Aggregate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use util::fixture::{Gate, fixture};

/// The response's header lines, sorted.
fn masked_headers(reply: &util::Reply) -> Vec<String> {
    let mut lines = util::header_lines(reply);
    lines.sort();
    lines
}

fn histogram_headers(count: u64, value: Option<u64>) -> Vec<String> {
    let (min, max, mean) = match value {
        Some(v) => (v.to_string(), v.to_string(), format!("{v}.0")),
        None => (String::new(), String::new(), "NaN".to_owned()),
    };
    let mut expected = vec![
        "content-type: text/plain".to_owned(),
        "expires: <date>".to_owned(),
        format!("x-count: {count}"),
        format!("x-current: {}", value.unwrap_or(0)),
        "x-first-peak-at: <date>".to_owned(),
        "x-last-peak-at: <date>".to_owned(),
        "x-last-reset: <date>".to_owned(),
        format!("x-max: {max}"),
        format!("x-mean: {mean}"),
        format!("x-min: {min}"),
        "x-outliers-high: 0".to_owned(),
        "x-outliers-low: 0".to_owned(),
        "x-std-dev: NaN".to_owned(),
    ];
    expected.sort();
    expected
}

/// One sample only (the one taken at start: the next is an hour away), so every number is exact.
#[tokio::test]
async fn every_endpoint_over_real_tcp_and_unix_listeners() {
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_secs(3600));
    let addr = util::fixture::serve(&watcher).await;
    let (tcp, unix) = fx.escaped();
    let (tcp_text, unix_text) = (fx.tcp.to_string(), fx.unix.display().to_string());
    let unix_html = unix_text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");

    // The index: both rows, escaped in links and text; no markup from the path gets through.
    let index = util::get(addr, "/").await;
    assert_eq!(index.status, 200);
    assert_eq!(
        masked_headers(&index),
        ["content-type: text/html", "expires: <date>", "last-modified: <date>"]
    );
    // Each row keeps Ruby's links (tail, histograms, reset, chart) around the numbers.
    let row = |e: &str, text: &str, active: u64, queued: u64| {
        format!(
            "<tr><td><a href='tail/{e}.txt' title='&quot;tail&quot; output in real time' data-u='{e}'>{text}</a></td>\
             <td class='n busy' data-busy='queued'><a href='queued/{e}.html' \
             title='queued now; the histogram since the last reset'><span data-v='queued'>{queued}</span></a></td>\
             <td class='n'><a href='active/{e}.html' \
             title='active now; the histogram since the last reset'><span data-v='active'>{active}</span></a></td>"
        )
    };
    let reset = |e: &str| {
        format!(
            "<td class='wide'><form action='reset/{e}' method='post'>\
             <input title='reset statistics' type='submit' name='x' value='x' /></form></td></tr>"
        )
    };
    let (tcp_row, unix_row) = (row(&tcp, &tcp_text, 3, 2), row(&unix, &unix_html, 1, 4));
    // Rows by pressure: 4 queued before 2 queued.
    let at = |needle: &str| {
        index.body.find(needle).unwrap_or_else(|| panic!("{needle} in {}", index.body))
    };
    assert!(at(&unix_row) < at(&reset(&unix)), "{}", index.body);
    assert!(at(&reset(&unix)) < at(&tcp_row), "{}", index.body);
    assert!(index.body.contains(&format!("{}</tbody></table>", reset(&tcp))), "{}", index.body);
    // No markup from the path gets through: the only script is the page's own.
    assert!(!index.body.contains("<script>alert"), "{}", index.body);
    assert_eq!(index.body.matches("<script").count(), 1, "{}", index.body);
    assert!(index.body.contains("<noscript><meta http-equiv='refresh' content='3600'></noscript>"));

    // Histograms: text, HEAD, HTML and JSON.
    for (e, which, value) in
        [(&tcp, "active", 3), (&tcp, "queued", 2), (&unix, "active", 1), (&unix, "queued", 4)]
    {
        let path = format!("/{which}/{e}.txt");
        let reply = util::get(addr, &path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(masked_headers(&reply), histogram_headers(1, Some(value)), "{path}");
        assert_eq!(reply.body, Aggregate::from_iter([value as i64]).to_string(), "{path}");

        let head = util::request_from(addr, "HEAD", &path, "127.0.0.1").await;
        assert_eq!((head.status, head.body.as_str()), (200, ""), "HEAD {path}");
        assert_eq!(masked_headers(&head), histogram_headers(1, Some(value)), "HEAD {path}");

        let json = util::get(addr, &format!("/{which}/{e}.json")).await;
        let json: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(json["count"], 1);
        assert_eq!((json["current"].as_u64(), json["max"].as_u64()), (Some(value), Some(value)));

        let html = util::get(addr, &format!("/{which}/{e}.html")).await;
        assert_eq!(html.header("content-type"), Some("text/html"));
        assert!(html.body.contains(&format!("<tr><td>Current</td><td>{value}</td></tr>")));
        assert!(!html.body.contains("<script"), "{}", html.body);
    }
    let unix_json = util::get(addr, &format!("/queued/{unix}.json")).await;
    let unix_json: serde_json::Value = serde_json::from_str(&unix_json.body).unwrap();
    assert_eq!(unix_json["address"], unix_text.as_str());

    // A valid address nobody watches: an empty histogram. Bad addresses, paths, methods.
    let empty = util::get(addr, "/active/127.0.0.1%3A1.txt").await;
    assert_eq!((empty.status, empty.body.as_str()), (200, "Empty histogram"));
    assert_eq!(masked_headers(&empty), histogram_headers(0, None));
    assert_eq!(util::get(addr, "/active/localhost%3A80.txt").await.status, 404);
    assert_eq!(util::get(addr, "/active/127.0.0.1%3A80.csv").await.status, 404);
    assert_eq!(util::get(addr, "/nope").await.status, 404);
    assert_eq!(util::request_from(addr, "PUT", "/", "127.0.0.1").await.status, 405);
    assert_eq!(util::request_from(addr, "DELETE", "/metrics", "127.0.0.1").await.status, 405);
    let unknown = util::request_from(addr, "POST", "/reset/127.0.0.1%3A1", "127.0.0.1").await;
    assert_eq!(unknown.status, 404);

    // Charts: one vertex per sample (one so far), the path escaped.
    let chart = util::get(addr, &format!("/chart/{unix}.html")).await;
    assert_eq!(chart.status, 200);
    assert_eq!(chart.body.matches("<svg").count(), 2);
    assert_eq!(chart.body.matches("<polyline").count(), 2);
    assert!(chart.body.contains(&format!("<h3>{unix_html}</h3>")), "{}", chart.body);
    assert!(!chart.body.contains("<script"));
    let history = util::get(addr, &format!("/chart/{tcp}.json")).await;
    let history: serde_json::Value = serde_json::from_str(&history.body).unwrap();
    assert_eq!(history["points"].as_array().unwrap().len(), 1);
    assert_eq!(
        (history["points"][0][1].as_u64(), history["points"][0][2].as_u64()),
        (Some(3), Some(2))
    );

    // OpenMetrics: gauges, peaks and histograms of both listeners.
    let metrics = util::get(addr, "/metrics").await;
    assert_eq!(
        metrics.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let label = unix_text.replace('\\', "\\\\").replace('"', "\\\"");
    for line in [
        format!("raindrops_listener_active{{addr=\"{tcp_text}\"}} 3"),
        format!("raindrops_listener_queued{{addr=\"{tcp_text}\"}} 2"),
        format!("raindrops_listener_active{{addr=\"{label}\"}} 1"),
        format!("raindrops_listener_queued{{addr=\"{label}\"}} 4"),
        format!("raindrops_listener_queued_peak{{addr=\"{label}\"}} 4"),
        format!("raindrops_listener_queued_samples_bucket{{addr=\"{label}\",le=\"3\"}} 0"),
        format!("raindrops_listener_queued_samples_bucket{{addr=\"{label}\",le=\"7\"}} 1"),
        format!("raindrops_listener_queued_samples_count{{addr=\"{label}\"}} 1"),
        format!("raindrops_listener_queued_samples_sum{{addr=\"{label}\"}} 4"),
    ] {
        assert!(metrics.body.lines().any(|l| l == line), "{line} in\n{}", metrics.body);
    }
    assert!(metrics.body.ends_with("# EOF\n"));
}

/// `path`'s X-Count.
async fn count(addr: SocketAddr, path: &str) -> u64 {
    util::get(addr, path).await.header("x-count").unwrap().parse().unwrap()
}

/// Polls `path` until its X-Count is at least `least` (bounded); the first such count seen.
async fn count_at_least(addr: SocketAddr, path: &str, least: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let count = count(addr, path).await;
        if count >= least {
            return count;
        }
        assert!(Instant::now() < deadline, "{path}: X-Count {count}, expected {least}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The Watcher samples only when the test lets it: "the next sample" is exactly one.
#[tokio::test]
async fn reset_forgets_then_the_next_sample_counts_once() {
    let fx = fixture();
    let gate = Gate::default();
    gate.allow(2); // the sample taken at start, and one more
    let watcher = fx.gated_watcher(&gate);
    let addr = util::fixture::serve(&watcher).await;
    let (tcp, unix) = fx.escaped();
    // Samples allowed so far: 2, then one more after each reset.
    for (samples, e) in (2..).zip([&tcp, &unix]) {
        // Every sample so far counted first (at least two, so that only a reset can bring it
        // back to 1; all, so that none is still being recorded).
        let path = format!("/queued/{e}.txt");
        assert_eq!(count_at_least(addr, &path, samples).await, samples);
        let reset = util::request_from(addr, "POST", &format!("/reset/{e}"), "127.0.0.1").await;
        assert_eq!((reset.status, reset.header("location")), (302, Some("/")));
        // Right after the reset nothing is counted; the next sample makes it exactly 1.
        assert_eq!(count(addr, &path).await, 0);
        gate.allow(1);
        assert_eq!(count_at_least(addr, &path, 1).await, 1);
    }
}

#[tokio::test]
async fn reset_redirects_only_to_a_path_of_this_host() {
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_millis(400));
    let addr = util::fixture::serve(&watcher).await;
    let (tcp, _) = fx.escaped();
    let host = addr.to_string();
    for (referer, location) in [
        ("javascript:alert(1)", "/"),
        ("http://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("http://evil.example/foo/bar", "/"),
        (&format!("http://{host}/foo/bar?x=1#frag"), "/foo/bar?x=1"),
        (&format!("http://{host}/active/{tcp}.html"), &format!("/active/{tcp}.html")),
        ("/x", "/x"),
    ] {
        let headers = format!("Host: {host}\r\nReferer: {referer}\r\n");
        let reply = util::request_with(addr, "POST", &format!("/reset/{tcp}"), &headers).await;
        assert_eq!((reply.status, reply.header("location")), (302, Some(location)), "{referer}");
    }
}

/// Sends `GET path` and returns the stream after the response head arrived.
async fn open_tail(addr: SocketAddr, path: &str) -> (tokio::net::TcpStream, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).await.unwrap();
    let mut head = String::new();
    let mut buf = [0u8; 4096];
    while !head.contains("\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .expect("a response head within 30 s")
            .unwrap();
        assert!(n > 0, "closed before the head: {head}");
        head.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    (stream, head)
}

/// Reads from `stream` until `seen` holds `lines` lines ending in `suffix` (bounded).
async fn read_until(
    stream: &mut tokio::net::TcpStream,
    seen: &mut String,
    suffix: &str,
    lines: usize,
) {
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lines().filter(|l| l.ends_with(suffix)).count() < lines {
        assert!(Instant::now() < deadline, "no tail lines: {seen}");
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "tail closed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[tokio::test]
async fn tail_streams_lines_that_reach_the_minimums() {
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_millis(50));
    let addr = util::fixture::serve(&watcher).await;
    let (tcp, unix) = fx.escaped();

    let (mut stream, mut seen) = open_tail(addr, &format!("/tail/{tcp}.txt")).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.contains("transfer-encoding: chunked"), "{seen}");
    assert!(seen.contains("cache-control: no-transform"), "{seen}");
    read_until(&mut stream, &mut seen, " 2", 2).await;
    let line = seen.lines().find(|l| l.ends_with(" 2")).unwrap();
    let width = fx.tcp.to_string().len();
    assert_eq!(&line[20..], format!(" {:>width$} {:>10} {:>10}", fx.tcp, 3, 2));

    // The Unix path is longer than 35 bytes: printed whole.
    let (mut stream, mut seen) =
        open_tail(addr, &format!("/tail/{unix}.txt?active_min=1&queued_min=4")).await;
    read_until(&mut stream, &mut seen, " 4", 1).await;
    let line = seen.lines().find(|l| l.ends_with(" 4")).unwrap();
    assert_eq!(&line[20..], format!(" {} {:>10} {:>10}", fx.unix.display(), 1, 4));

    // JSON lines.
    let (mut stream, mut seen) = open_tail(addr, &format!("/tail/{tcp}.json?queued_min=2")).await;
    assert!(seen.contains("content-type: application/x-ndjson"), "{seen}");
    read_until(&mut stream, &mut seen, "\"queued\":2}", 1).await;
    let line = seen.lines().find(|l| l.ends_with("\"queued\":2}")).unwrap();
    let object: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(object["address"], fx.tcp.to_string());
    assert_eq!((object["active"].as_u64(), object["queued"].as_u64()), (Some(3), Some(2)));

    // queued_min above the truth: nothing within several samples.
    let (mut quiet, head) = open_tail(addr, &format!("/tail/{tcp}.txt?queued_min=3")).await;
    assert!(head.starts_with("HTTP/1.1 200"));
    let body_start = head.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    assert_eq!(body_start, "");
    // Several samples: a tail without minimums, opened after it, shows 8 lines meanwhile.
    let (mut every, mut seen) = open_tail(addr, &format!("/tail/{tcp}.txt")).await;
    let mut buf = [0u8; 64];
    tokio::select! {
        more = quiet.read(&mut buf) => {
            let line = String::from_utf8_lossy(&buf[..more.unwrap()]).into_owned();
            panic!("no line should reach queued_min=3: {line:?}");
        }
        () = read_until(&mut every, &mut seen, " 2", 8) => {}
    }
}

#[tokio::test]
async fn the_33rd_tail_gets_503_until_one_closes() {
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_millis(100));
    let addr = util::fixture::serve(&watcher).await;
    let path = format!("/tail/{}.txt", fx.escaped().0);
    let mut tails = Vec::new();
    for _ in 0..32 {
        let (stream, head) = open_tail(addr, &path).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        tails.push(stream);
    }
    let refused = util::get(addr, &path).await;
    assert_eq!((refused.status, refused.body.as_str()), (503, "Too many tails\n"));

    // One tail closes: its slot frees once the server notices (the next line it fails to send).
    drop(tails.pop());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (stream, head) = open_tail(addr, &path).await;
        if head.starts_with("HTTP/1.1 200") {
            tails.push(stream);
            break;
        }
        assert!(head.starts_with("HTTP/1.1 503"), "{head}");
        assert!(Instant::now() < deadline, "the closed tail's slot never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
