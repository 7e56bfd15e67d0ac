//! The Watcher's index as a dashboard, over real listeners: rows by pressure, re-sorted and
//! filtered by the query (the scriptless path), and `/index.json`, which the page's script
//! reads to update itself in place.
#![cfg(target_os = "linux")]

mod util;

use std::time::Duration;

use util::fixture::{fixture, serve};

/// Where each of `needles` first appears in `page`, in order of the needles.
fn positions(page: &str, needles: &[&str]) -> Vec<usize> {
    needles.iter().map(|n| page.find(n).unwrap_or_else(|| panic!("{n} not in {page}"))).collect()
}

fn is_sorted(positions: &[usize]) -> bool {
    positions.windows(2).all(|w| w[0] < w[1])
}

#[tokio::test]
async fn rows_by_pressure_resorted_and_filtered_by_the_query() {
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_secs(3600));
    let addr = serve(&watcher).await;
    let (tcp, unix) = fx.escaped();
    let (tcp_link, unix_link) = (format!("data-u='{tcp}'"), format!("data-u='{unix}'"));

    // Pressure: the Unix listener (4 queued) before TCP (2 queued, 3 active).
    let page = util::get(addr, "/").await.body;
    assert!(is_sorted(&positions(&page, &[&unix_link, &tcp_link])), "{page}");
    // Both queues are non-empty: both marked.
    assert_eq!(page.matches("<td class='n busy' data-busy='queued'>").count(), 2, "{page}");
    // Headers of a real table, each sortable one a link that keeps the window.
    for header in
        ["<th scope='col' data-key='address'", "<th scope='col' class='n' data-key='queued'"]
    {
        assert!(page.contains(header), "{header} in {page}");
    }
    assert!(page.contains("href='?sort=active&amp;window=10m'"), "{page}");
    // Sparklines of the one sample so far: a step at the right edge, in the window's columns.
    assert!(
        page.contains("<path class='sq' data-d='spark_queued' d='M59 2H60V22H59Z'/>"),
        "{page}"
    );
    // Every asset inline: nothing to fetch (no source, link, stylesheet import, CSS image or
    // web font).
    for external in ["src=", "<link", "url(", "@import", "@font-face"] {
        assert!(!page.to_ascii_lowercase().contains(&external.to_ascii_lowercase()), "{page}");
    }

    // Re-sorted by active: TCP (3) first; by address: "/tmp..." first.
    let page = util::get(addr, "/?sort=active&window=1m").await.body;
    assert!(is_sorted(&positions(&page, &[&tcp_link, &unix_link])), "{page}");
    assert!(page.contains("<option value='1m' selected>"), "{page}");
    let page = util::get(addr, "/?sort=address").await.body;
    assert!(is_sorted(&positions(&page, &[&unix_link, &tcp_link])), "{page}");

    // Filtered on the server (the form without a script): only the TCP row.
    let page = util::get(addr, "/?q=127.0.0").await.body;
    assert!(page.contains(&tcp_link) && !page.contains(&unix_link), "{page}");
    assert!(page.contains("value='127.0.0'"), "{page}");
    // A hostile filter stays text.
    let page = util::get(addr, "/?q=%27%3E%3Cscript%3E").await.body;
    assert!(page.contains("value='&#39;&gt;&lt;script&gt;'"), "{page}");
    assert_eq!(page.matches("<script").count(), 1, "{page}");

    // The same rows as data.
    let json = util::get(addr, "/index.json?sort=active").await;
    assert_eq!(json.header("content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let rows = json["listeners"].as_array().unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r["address"].as_str().unwrap(), r["queued"].as_u64(), r["active"].as_u64()))
        .collect();
    let unix_text = fx.unix.display().to_string();
    let tcp_text = fx.tcp.to_string();
    assert_eq!(
        got,
        [(tcp_text.as_str(), Some(2), Some(3)), (unix_text.as_str(), Some(4), Some(1))]
    );
    assert_eq!(
        (rows[0]["url"].as_str(), rows[0]["peak_queued"].as_u64()),
        (Some(tcp.as_str()), Some(2))
    );
    assert_eq!(json["window"], "10m");

    // Filtered on the server too, each filter its own view of the sample.
    for (q, shown) in [("127.0.0", &tcp_text), (".sock", &unix_text)] {
        let json = util::get(addr, &format!("/index.json?q={q}")).await.body;
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        let rows = json["listeners"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{q}: {json}");
        assert_eq!(rows[0]["address"].as_str(), Some(shown.as_str()), "{q}");
    }
}

/// `GET path` with `Accept-Encoding: gzip`; the head and the body, gunzipped.
async fn get_gzip(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nAccept-Encoding: gzip, br\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a head");
    let head = String::from_utf8(response[..split].to_vec()).unwrap();
    let mut body = String::new();
    let gz = &response[split + 4..];
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut body).unwrap();
    (head, body)
}

#[tokio::test]
async fn gzipped_when_accepted() {
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_secs(3600));
    let addr = serve(&watcher).await;
    let (tcp, _) = fx.escaped();
    for path in ["/", "/index.json"] {
        let (head, body) = get_gzip(addr, path).await;
        let head = head.to_ascii_lowercase();
        assert!(head.contains("content-encoding: gzip\r\n"), "{path}: {head}");
        assert!(head.contains("vary: accept-encoding\r\n"), "{path}: {head}");
        assert!(body.contains(&tcp), "{path}: {body}");
    }
    // Without asking: plain, as before.
    let plain = util::get(addr, "/").await;
    assert_eq!(plain.header("content-encoding"), None);
    assert!(plain.body.contains(&tcp));
}
