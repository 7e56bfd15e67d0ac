//! Chromium's first render of the Watcher's index with 1,000 listeners and an hour of history
//! (issue 18's figure): the page the library's `index::bench` wrote, served gzipped over
//! loopback HTTP as the Watcher serves it, opened in a fresh headless Chromium (Debian
//! `chromium`) driven over the DevTools protocol; the page's own Paint and Navigation Timing
//! give first contentful paint, DOMContentLoaded and load, in real (not virtual) time.
//! A measurement, not run by default: `scripts/watcher-index-speed.sh` runs it after the bench.
#![cfg(target_os = "linux")]

mod util;

use axum::http::header;
use raindrops_test_support::external::CHROMIUM;
use raindrops_test_support::require_external;
use util::cdp::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by scripts/watcher-index-speed.sh after the bench"]
async fn chromium_first_paint_of_the_index_with_1000_listeners() {
    let program = require_external!(CHROMIUM);
    let path = std::env::temp_dir().join("raindrops-index-1000.html.gz");
    let page = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e} (written by the bench: scripts/watcher-index-speed.sh)", path.display())
    });
    let size = page.len();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move {
            let headers = [(header::CONTENT_TYPE, "text/html"), (header::CONTENT_ENCODING, "gzip")];
            (headers, page.clone())
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("the page: {size} bytes gzipped, from http://{addr}/");
    for run in 1..=3 {
        tokio::task::block_in_place(|| {
            let mut browser = Browser::launch(&program);
            let mut page = browser.open(&format!("http://{addr}/"));
            let times = page.wait_for(
                "first contentful paint",
                "(() => { const p = performance.getEntriesByName('first-contentful-paint')[0]; \
                 const n = performance.getEntriesByType('navigation')[0]; \
                 return p && n && n.loadEventEnd > 0 && [p.startTime, n.responseEnd, \
                 n.domContentLoadedEventEnd, n.loadEventEnd, \
                 document.querySelectorAll('#listeners tbody tr').length]; })()",
            );
            let ms = |i: usize| times[i].as_f64().unwrap_or(f64::NAN);
            println!(
                "chromium run {run}: first-contentful-paint {:.0} ms, response end {:.0} ms, \
                 DOMContentLoaded {:.0} ms, load {:.0} ms ({} rows)",
                ms(0),
                ms(1),
                ms(2),
                ms(3),
                times[4]
            );
            assert_eq!(times[4], 1000, "every listener's row");
        });
    }
}
