//! The Watcher's chart page over real listeners: the time axis fits the history held, a
//! window selector, values on hover, units on the axes, and the histograms as bars beside the
//! gem's text.
#![cfg(target_os = "linux")]

mod util;

use std::time::{Duration, Instant};

use util::fixture::{Gate, fixture, serve};

/// The x of each polyline vertex of each chart in `page`.
fn xs(page: &str) -> Vec<Vec<f64>> {
    page.split("points='")
        .skip(1)
        .map(|rest| {
            let points = rest.split('\'').next().unwrap();
            points
                .split_whitespace()
                .map(|p| p.split(',').next().unwrap().parse().unwrap())
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_few_samples_fill_the_width_with_values_on_hover_and_histogram_bars() {
    let fx = fixture();
    let gate = Gate::default();
    gate.allow(5);
    let watcher = fx.gated_watcher(&gate);
    let addr = serve(&watcher).await;
    let (tcp, _) = fx.escaped();
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let page = util::get(addr, &format!("/chart/{tcp}.html")).await.body;
        if page.contains(" 5 samples, one every") {
            break page;
        }
        assert!(Instant::now() < deadline, "not 5 samples after 30 s: {page}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // 5 samples 10 ms apart span the whole plot, from its left edge to its right.
    for chart in xs(&page) {
        assert_eq!(chart.len(), 5, "{page}");
        assert_eq!((chart[0], chart[4]), (64.0, 712.0), "{page}");
    }
    // Units, hover values, the window selector (all held, shown) and the histograms: bars
    // and the gem's text.
    assert!(page.contains(">time (UTC)</text>") && page.contains(">connections</text>"));
    // The page title, and a hover per sample on each chart: active, queued and oldest wait.
    assert_eq!(page.matches("<title>").count(), 1 + 3 * 5, "{page}");
    assert!(page.contains(": 2</title></rect>"), "{page}");
    assert!(page.contains(&format!("<a href='{tcp}.html?window=1m'>1 min</a>")), "{page}");
    assert!(page.contains("<b>all held</b>"), "{page}");
    assert!(page.contains("<caption>queued: samples by value</caption>"), "{page}");
    assert!(page.contains("<tr><td>2</td><td>5</td>"), "5 samples of 2 queued: {page}");
    let gem = raindrops::Aggregate::from_iter([2i64; 5]).to_string();
    assert!(page.contains(&format!("<pre>{gem}</pre>")), "{page}");
    assert!(!page.contains("<script"), "{page}");

    // A window: only the samples within it (all 5 here, within a minute), it is named.
    let page = util::get(addr, &format!("/chart/{tcp}.html?window=1m")).await.body;
    assert!(page.contains("<b>1 min</b>") && page.contains(" 5 samples, one every"), "{page}");
}
