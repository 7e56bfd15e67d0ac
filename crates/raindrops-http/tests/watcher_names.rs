//! Issue 14, items 7 and 8: Unix sockets whose names are not UTF-8 (Ruby raindrops' tests use
//! `"\xde\xad\xbe\xef"`) or hold a newline and an escape code, watched through real sockets.
//! Their pages are reachable at their percent-encoded bytes, JSON flags the escaped name, and
//! text lines carry no raw control byte.
#![cfg(target_os = "linux")]

mod util;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use raindrops::{ListenerAddr, escape_bytes, unescape_bytes};
use raindrops_http::listeners::KernelListeners;
use raindrops_http::watcher::Watcher;

/// `"\xde\xad\xbe\xef"` with 2 queued connections, and a name with a newline and ESC with 1.
struct Sockets {
    bytes: PathBuf,
    forged: PathBuf,
    _dir: tempfile::TempDir,
    _held: (UnixListener, UnixListener, Vec<UnixStream>),
}

fn sockets() -> Sockets {
    let dir = tempfile::tempdir().unwrap();
    let bytes = dir.path().join(OsStr::from_bytes(b"\xde\xad\xbe\xef"));
    let forged = dir.path().join("a\n2026-01-01T00:00:00Z forged 9 9\n\x1b[31m.sock");
    let (l1, l2) = (UnixListener::bind(&bytes).unwrap(), UnixListener::bind(&forged).unwrap());
    let conns = vec![
        UnixStream::connect(&bytes).unwrap(),
        UnixStream::connect(&bytes).unwrap(),
        UnixStream::connect(&forged).unwrap(),
    ];
    Sockets { bytes, forged, _dir: dir, _held: (l1, l2, conns) }
}

/// Percent-encodes every byte but ASCII letters and digits (a client may encode more than the
/// Watcher's links do).
fn encode(path: &Path) -> String {
    path.as_os_str()
        .as_bytes()
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

fn escaped(path: &Path) -> String {
    escape_bytes(path.as_os_str().as_bytes()).into_owned()
}

#[tokio::test]
async fn names_that_are_not_utf8_round_trip_through_urls_and_json() {
    let s = sockets();
    let addrs = vec![ListenerAddr::Unix(s.bytes.clone()), ListenerAddr::Unix(s.forged.clone())];
    let watcher =
        Watcher::new(KernelListeners::addrs(addrs).unwrap(), Duration::from_millis(100)).unwrap();
    let addr = util::fixture::serve(&watcher).await;
    let (enc, name) = (encode(&s.bytes), escaped(&s.bytes));
    assert!(name.ends_with("/\\xde\\xad\\xbe\\xef"), "{name}");

    // The index links to the exact bytes, percent-encoded, and shows the name escaped.
    let index = util::get(addr, "/").await;
    assert_eq!(index.status, 200);
    let link = enc.replace("%2E", ".").replace("%5F", "_").replace("%2D", "-");
    assert!(index.body.contains(&format!("href='queued/{link}.html'")), "{}", index.body);
    assert!(index.body.contains(&format!(">{name}</a>")), "{}", index.body);

    // The pages for it are reachable, with its numbers: the URL decodes back to its bytes.
    let json = util::get(addr, &format!("/queued/{enc}.json")).await;
    assert_eq!(json.status, 200, "{}", json.body);
    let value: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(value["address"], name.as_str());
    assert_eq!(value["address_escaped"], true);
    assert_eq!(value["current"], 2);
    let back = unescape_bytes(value["address"].as_str().unwrap()).unwrap();
    assert_eq!(back, s.bytes.as_os_str().as_bytes());
    let txt = util::get(addr, &format!("/queued/{enc}.txt")).await;
    assert_eq!((txt.status, txt.header("x-current")), (200, Some("2")));
    let chart = util::get(addr, &format!("/chart/{enc}.json")).await;
    assert_eq!(chart.status, 200);
    let chart: serde_json::Value = serde_json::from_str(&chart.body).unwrap();
    assert_eq!(
        (&chart["address"], &chart["address_escaped"]),
        (&name.as_str().into(), &true.into())
    );
    let reset = util::request_from(addr, "POST", &format!("/reset/{enc}"), "127.0.0.1").await;
    assert_eq!(reset.status, 302, "{}", reset.body);

    // OpenMetrics label values must be UTF-8: the escaped spelling, with OpenMetrics' escapes.
    let metrics = util::get(addr, "/metrics").await;
    let label = name.replace('\\', "\\\\");
    assert!(
        metrics.body.contains(&format!("raindrops_listener_queued{{addr=\"{label}\"}} 2\n")),
        "{}",
        metrics.body
    );

    // A UTF-8 name with a newline and ESC: JSON carries it exactly (no flag), the tail's text
    // line escapes it (one line, no raw ESC).
    let forged = encode(&s.forged);
    let json = util::get(addr, &format!("/active/{forged}.json")).await;
    let value: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(value["address"], s.forged.to_str().unwrap());
    assert_eq!(value.get("address_escaped"), None);
    let line = util::first_tail_line(addr, &format!("/tail/{forged}.txt")).await;
    assert_eq!(line.matches('\n').count(), 1, "{line:?}");
    assert!(!line.contains('\x1b'), "{line:?}");
    assert!(line.contains(&escaped(&s.forged)), "{line:?}");
    let line = util::first_tail_line(addr, &format!("/tail/{enc}.json")).await;
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!((&value["address"], &value["queued"]), (&name.as_str().into(), &2.into()));
    assert_eq!(value["address_escaped"], true);
}
