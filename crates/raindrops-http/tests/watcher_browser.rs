//! The Watcher's dashboard in headless Chromium (Debian `chromium`; skipped without it, as
//! every `require_external!` test): it paints at desktop and phone widths, logs no console
//! error, shows the fixture's numbers by pressure, updates a number in place when the
//! listeners change (no reload), keeps a hostile Unix path as text, and works with scripts off;
//! driven over the DevTools protocol, its filter box hides rows as one types and a click on a
//! header re-sorts them, without a reload.
#![cfg(target_os = "linux")]

mod util;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use raindrops::ListenStats;
use raindrops_test_support::external::CHROMIUM;
use raindrops_test_support::require_external;
use util::browser::{chromium, console_errors};
use util::cdp::{Browser, Page};
use util::fixture::{Gate, fixture, serve};

/// Runs Chromium on `url` with `args`, in a fresh profile (one that blocks the pages'
/// scripts unless `scripts`: the `--blink-settings` switch would block Chromium's own
/// `--dump-dom` and `--screenshot` too); asserts it succeeded and logged no console error;
/// returns its stdout.
fn browse(program: &Path, args: &[&str], url: &str, scripts: bool) -> String {
    let profile = tempfile::tempdir().unwrap();
    if !scripts {
        let prefs = r#"{"profile":{"default_content_setting_values":{"javascript":2}}}"#;
        std::fs::create_dir(profile.path().join("Default")).unwrap();
        std::fs::write(profile.path().join("Default/Preferences"), prefs).unwrap();
    }
    let mut all = args.to_vec();
    all.push(url);
    let out = tokio::task::block_in_place(|| chromium(program, profile.path(), &all));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{all:?}: {stderr}");
    assert_eq!(console_errors(&out.stderr), Vec::<String>::new(), "{all:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A screenshot of `url` at `width`x`height`: decoded, the right size, and with at least
/// `least` pixels of each color in `colors` (the charts' strokes: painted, not blank).
fn screenshot(program: &Path, url: &str, size: (u32, u32), colors: &[[u8; 3]], scripts: bool) {
    let width = size.0;
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("shot.png");
    if let Ok(keep) = std::env::var("RAINDROPS_SCREENSHOTS") {
        let name = url.rsplit('/').next().unwrap_or("page").replace(['%', '?', '.'], "_");
        let keep = Path::new(&keep).join(format!("{name}-{width}.png"));
        screenshot_to(program, url, size, colors, scripts, &keep);
    }
    screenshot_to(program, url, size, colors, scripts, &png);
}

fn screenshot_to(
    program: &Path,
    url: &str,
    size: (u32, u32),
    colors: &[[u8; 3]],
    scripts: bool,
    png: &Path,
) {
    let shot = format!("--screenshot={}", png.display());
    let window = format!("--window-size={},{}", size.0, size.1);
    let args = [shot.as_str(), &window, "--hide-scrollbars"];
    browse(program, &args, url, scripts);
    let bytes = std::fs::read(png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "{} is not a PNG", png.display());
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), size, "{url}");
    let channels = info.line_size / info.width as usize;
    for color in colors {
        let near = pixels
            .chunks_exact(channels)
            .filter(|p| (0..3).all(|i| p[i].abs_diff(color[i]) <= 24))
            .count();
        assert!(near >= 20, "{url} at {size:?}: {near} pixels near {color:?}: the chart is blank");
    }
}

/// The text of the rows' numbers in DOM order: `(address, queued, active)` per row.
fn rows(dom: &str) -> Vec<(String, u64, u64)> {
    let number = |row: &str, key: &str| -> u64 {
        let at =
            row.find(&format!("data-v=\"{key}\">")).unwrap_or_else(|| panic!("{key} in {row}"));
        let rest = &row[at..];
        rest[rest.find('>').unwrap() + 1..rest.find('<').unwrap()].parse().unwrap()
    };
    dom.split("<tr><td>")
        .skip(1)
        .map(|row| {
            let at = row.find("data-u=\"").unwrap() + 8;
            let url = row[at..row[at..].find('"').unwrap() + at].to_owned();
            (url, number(row, "queued"), number(row, "active"))
        })
        .collect()
}

/// What the test's middleware sees of the requests, and the change it makes.
struct Probe {
    fx: Arc<util::fixture::Fixture>,
    gate: Gate,
    /// The TCP listener's `ADDR` in URLs.
    tcp: String,
    /// The Watcher's address.
    addr: SocketAddr,
    /// Whether the listeners were changed.
    changed: AtomicBool,
    /// Requests for `/` and `/index.json`.
    pages: AtomicUsize,
    jsons: AtomicUsize,
    held: Mutex<Vec<TcpStream>>,
}

impl Probe {
    /// Counts a request for `path`; on the first for `/index.json`, 3 more clients queue on
    /// the TCP listener and a new sample is taken before it is answered.
    async fn see(&self, path: &str) {
        match path {
            "/" => self.pages.fetch_add(1, Ordering::SeqCst),
            "/index.json" => self.jsons.fetch_add(1, Ordering::SeqCst),
            _ => return,
        };
        if path != "/index.json" || self.changed.swap(true, Ordering::SeqCst) {
            return;
        }
        let tcp = self.fx.tcp;
        self.held.lock().unwrap().extend((0..3).map(|_| TcpStream::connect(tcp).unwrap()));
        tokio::task::block_in_place(|| util::settle(tcp, ListenStats { active: 3, queued: 5 }));
        self.gate.allow(1);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let chart = util::get(self.addr, &format!("/chart/{}.json", self.tcp)).await.body;
            let chart: serde_json::Value = serde_json::from_str(&chart).unwrap();
            if chart["points"].as_array().is_some_and(|p| p.len() >= 2) {
                return;
            }
            assert!(Instant::now() < deadline, "no second sample after 30 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

const BLUE: [u8; 3] = [0x1f, 0x77, 0xb4];
const RED: [u8; 3] = [0xd6, 0x27, 0x28];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_the_dashboard_by_pressure_and_updates_it_in_place() {
    let program = require_external!(CHROMIUM);
    let fx = Arc::new(fixture());
    let (tcp, unix) = fx.escaped();
    let gate = Gate::default();
    gate.allow(1);
    let watcher = fx.gated_watcher(&gate);

    // The first request for /index.json finds the listeners changed: 3 more clients queue on
    // the TCP listener (2 → 5, more than the Unix listener's 4) and a new sample is taken
    // before it is answered. The page itself was rendered from the sample before.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let probe = Arc::new(Probe {
        fx: fx.clone(),
        gate: gate.clone(),
        tcp: tcp.clone(),
        addr,
        changed: AtomicBool::new(false),
        pages: AtomicUsize::new(0),
        jsons: AtomicUsize::new(0),
        held: Mutex::default(),
    });
    let middleware = {
        let probe = probe.clone();
        move |request: Request, next: Next| {
            let probe = probe.clone();
            async move {
                probe.see(request.uri().path()).await;
                next.run(request).await
            }
        }
    };
    let app = watcher.router().layer(axum::middleware::from_fn(middleware));
    let server = raindrops_http::server::Server::new(Default::default());
    tokio::spawn(async move { server.serve(listener, |_| app.clone()).await });
    let index = format!("http://{addr}/");

    // Scripts on: the page loads with those numbers, then reads the JSON, and the TCP
    // listener's 5 queued move it to the top, in place: the page was fetched once.
    let before = probe.pages.load(Ordering::SeqCst);
    let dom = browse(&program, &["--dump-dom", "--virtual-time-budget=5000"], &index, true);
    assert!(probe.changed.load(Ordering::SeqCst), "the page never read /index.json");
    assert_eq!(rows(&dom), [(tcp.clone(), 5, 3), (unix.clone(), 4, 1)], "{dom}");
    assert_eq!(probe.pages.load(Ordering::SeqCst), before + 1, "the page reloaded");
    // The hostile path is text (escaped in the serialized DOM); the only script is ours.
    let parent = fx.unix.parent().unwrap().parent().unwrap().display();
    assert!(dom.contains(&format!(">{parent}/&lt;script&gt;alert('x')/\"q\".sock</a>")), "{dom}");
    assert_eq!(dom.matches("<script").count(), 1, "{dom}");

    // Scripts off: the page shows the same, refreshes itself, paints its sparklines, and
    // never reads the JSON.
    let read = probe.jsons.load(Ordering::SeqCst);
    let dom = browse(&program, &["--dump-dom"], &index, false);
    assert_eq!(rows(&dom), [(tcp.clone(), 5, 3), (unix.clone(), 4, 1)], "{dom}");
    assert!(
        dom.contains("<noscript><meta http-equiv=\"refresh\" content=\"1\"></noscript>"),
        "{dom}"
    );
    screenshot(&program, &index, (1280, 800), &[BLUE, RED], false);
    assert_eq!(probe.jsons.load(Ordering::SeqCst), read, "scripts off, yet the JSON was read");

    // It paints: the sparklines' blue and red at desktop and phone widths.
    for size in [(1280, 800), (375, 800)] {
        screenshot(&program, &index, size, &[BLUE, RED], true);
    }
    // The chart page paints its lines and histogram bars at both widths.
    let chart = format!("http://{addr}/chart/{unix}.html");
    for size in [(1280, 800), (375, 800)] {
        screenshot(&program, &chart, size, &[BLUE], true);
    }
}

/// Each row's listener (its `data-u`) in DOM order, and whether it is drawn.
fn rows_shown(page: &mut Page<'_>) -> Vec<(String, bool)> {
    let rows = page.eval(
        "[].map.call(document.querySelectorAll('#listeners tbody tr'), r => \
         [r.querySelector('[data-u]').getAttribute('data-u'), r.getClientRects().length > 0])",
    );
    serde_json::from_value(rows).unwrap()
}

/// Waits until the rows are `want` (in order, each drawn or not); fails with the last seen.
#[track_caller]
fn wait_rows(page: &mut Page<'_>, what: &str, want: &[(&str, bool)]) {
    let deadline = Instant::now() + util::cdp::DEADLINE;
    loop {
        let rows = rows_shown(page);
        if rows.iter().map(|(u, shown)| (u.as_str(), *shown)).eq(want.iter().copied()) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {rows:?}, expected {want:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_filters_as_one_types_and_sorts_on_a_header_click_without_a_reload() {
    let program = require_external!(CHROMIUM);
    let fx = fixture();
    // One sample: the page's only read of /index.json brings the same numbers.
    let watcher = fx.watcher(Duration::from_secs(3600));
    let addr = serve(&watcher).await;
    let (tcp, unix) = fx.escaped();
    let (tcp, unix) = (tcp.as_str(), unix.as_str());
    tokio::task::block_in_place(|| {
        let mut browser = Browser::launch(&program);
        let mut page = browser.open(&format!("http://{addr}/"));
        // A mark a reload would wipe out.
        page.eval("window.notReloaded = true");
        // By pressure: the Unix listener (4 queued) first, TCP (2 queued) second.
        wait_rows(&mut page, "by pressure", &[(unix, true), (tcp, true)]);

        // Typing into the filter box hides the rows whose address lacks the text, at once,
        // ignoring case.
        page.eval("document.getElementById('filter').focus()");
        page.type_text("127.0.0");
        wait_rows(&mut page, "filtered on 127.0.0", &[(unix, false), (tcp, true)]);
        page.eval("document.getElementById('filter').select()");
        page.type_text(".SOCK");
        wait_rows(&mut page, "filtered on .SOCK", &[(unix, true), (tcp, false)]);
        // Emptied key by key: every row again.
        for _ in 0..".SOCK".len() {
            page.press("Backspace", 8);
        }
        assert_eq!(page.eval("document.getElementById('filter').value"), "");
        wait_rows(&mut page, "filter emptied", &[(unix, true), (tcp, true)]);

        // A click on the "active" header: TCP (3 active) first; on "address": the Unix path
        // ("/tmp...") first again. The header shows the order; the URL keeps it.
        page.click("#listeners th[data-key='active'] a");
        wait_rows(&mut page, "sorted by active", &[(tcp, true), (unix, true)]);
        let aria = "document.querySelector(\"th[data-key='active']\").getAttribute('aria-sort')";
        assert_eq!(page.eval(aria), "descending");
        assert!(page.eval("location.search").as_str().unwrap().contains("sort=active"));
        page.click("#listeners th[data-key='address'] a");
        wait_rows(&mut page, "sorted by address", &[(unix, true), (tcp, true)]);
        let aria = "document.querySelector(\"th[data-key='address']\").getAttribute('aria-sort')";
        assert_eq!(page.eval(aria), "ascending");

        // Filtered, then sorted (the URL keeps the filter), then the JSON read again (the
        // window's change polls at once), twice: the page's rows are still the JSON's rows, so
        // it updates in place; reading the typed filter from the URL made the JSON a subset
        // and the page reloaded itself.
        page.eval("document.getElementById('filter').focus()");
        page.type_text("127.0.0");
        wait_rows(&mut page, "filtered on 127.0.0 again", &[(unix, false), (tcp, true)]);
        page.click("#listeners th[data-key='active'] a");
        assert!(page.eval("location.search").as_str().unwrap().contains("q=127.0.0"));
        let reads = "performance.getEntriesByType('resource')\
                     .filter(e => /index\\.json/.test(e.name)).length";
        for _ in 0..2 {
            let n = page.eval(reads).as_u64().unwrap();
            page.eval("document.getElementById('window').dispatchEvent(new Event('change'))");
            page.wait_for(
                "the JSON read again in the same document",
                &format!("window.notReloaded === true && {reads} > {n}"),
            );
        }
        wait_rows(&mut page, "still filtered, by active", &[(tcp, true), (unix, false)]);

        // All in place: the same document, and no script error.
        assert_eq!(page.eval("window.notReloaded === true"), true, "the page reloaded");
        assert_eq!(page.script_errors(), Vec::<serde_json::Value>::new());
    });
}

/// At a phone's width (375×800, as a mobile browser lays out the page's viewport) the index
/// fits: nothing scrolls sideways. Every number cell carries a title (on itself or a link in
/// it), and the page fetches nothing but its own JSON: no script, style, image or font from
/// elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_fits_the_index_in_375_px_with_a_title_on_every_number() {
    let program = require_external!(CHROMIUM);
    let fx = fixture();
    let watcher = fx.watcher(Duration::from_secs(3600));
    let addr = serve(&watcher).await;
    tokio::task::block_in_place(|| {
        let mut browser = Browser::launch(&program);
        let mut page = browser.open(&format!("http://{addr}/"));
        let phone = serde_json::json!({
            "width": 375, "height": 800, "deviceScaleFactor": 2, "mobile": true
        });
        page.call("Emulation.setDeviceMetricsOverride", phone);
        page.wait_for("a 375 px viewport", "innerWidth === 375");
        // The script has read the JSON once (so its fetch is listed below).
        page.wait_for(
            "the JSON read",
            "performance.getEntriesByType('resource').some(e => /index\\.json/.test(e.name))",
        );
        let width = page.eval("document.documentElement.scrollWidth");
        assert!(width.as_u64().is_some_and(|w| w <= 375), "scrollWidth {width} at 375 px");

        let untitled = page.eval(
            "[].filter.call(document.querySelectorAll('#listeners tbody td.n'), td => \
             !td.title && !td.querySelector('[title]')).map(td => td.outerHTML)",
        );
        assert_eq!(untitled, serde_json::json!([]), "number cells without a title");
        let numbers = page.eval("document.querySelectorAll('#listeners tbody td.n').length");
        assert_eq!(numbers, 2 * 4, "queued, active, oldest wait and peak of 2 rows");

        // (The browser's own request for /favicon.ico is no asset of the page.)
        let fetched = page.eval(
            "performance.getEntriesByType('resource').map(e => e.name)\
             .filter(n => n !== location.origin + '/favicon.ico' \
             && !n.startsWith(location.origin + '/index.json?'))",
        );
        assert_eq!(fetched, serde_json::json!([]), "fetched besides the page's JSON");
        assert_eq!(page.script_errors(), Vec::<serde_json::Value>::new());
    });
}
