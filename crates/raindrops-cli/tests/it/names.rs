//! Issue 14, items 7, 8 and 9 (scope ids): socket names a local user chose — a newline, ESC
//! and a C1 CSI (U+009B), bytes that are not UTF-8 (`"\xde\xad\xbe\xef"`, from Ruby
//! raindrops' tests), an abstract name — through `stats`, `top` and `watch` with real Unix
//! sockets.
#![cfg(target_os = "linux")]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::serve::{get, wait_for};
use crate::util::{BIN, raindrops_in};

/// What a forged row would look like if the name were printed raw.
const FORGED: &str = "2026-01-01T00:00:00Z         evil          9          9";

/// Listeners at hostile names; queued counts: bytes 2, forged 1, abstract 3.
struct Names {
    dir: tempfile::TempDir,
    bytes: PathBuf,
    forged: PathBuf,
    abstract_name: Vec<u8>,
    _held: (Vec<UnixListener>, Vec<UnixStream>),
}

impl Names {
    /// `test` keeps the abstract names of tests running at once apart.
    fn new(test: &str) -> Names {
        let dir = tempfile::tempdir().unwrap();
        let bytes = dir.path().join(OsStr::from_bytes(b"\xde\xad\xbe\xef"));
        let forged = dir.path().join(format!("f\n{FORGED}\n\x1b[31mred\u{9b}2J"));
        let abstract_name =
            format!("raindrops-{}-{test}-\x1b[2J\n", std::process::id()).into_bytes();
        let abstract_addr = UnixAddr::from_abstract_name(&abstract_name).unwrap();
        let listeners = vec![
            UnixListener::bind(&bytes).unwrap(),
            UnixListener::bind(&forged).unwrap(),
            UnixListener::bind_addr(&abstract_addr).unwrap(),
        ];
        let mut conns: Vec<UnixStream> =
            (0..2).map(|_| UnixStream::connect(&bytes).unwrap()).collect();
        conns.push(UnixStream::connect(&forged).unwrap());
        conns.extend((0..3).map(|_| UnixStream::connect_addr(&abstract_addr).unwrap()));
        Names { dir, bytes, forged, abstract_name, _held: (listeners, conns) }
    }

    /// The escaped spelling every text output must use.
    fn escaped(path: &Path) -> String {
        raindrops::escape_bytes(path.as_os_str().as_bytes()).into_owned()
    }
}

/// No control byte but the line ends, and valid UTF-8.
#[track_caller]
fn assert_clean(stdout: &[u8]) -> String {
    let text = String::from_utf8(stdout.to_vec()).expect("UTF-8 output");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "a raw control character reached the terminal: {text:?}"
    );
    assert!(!text.lines().any(|l| l.starts_with("2026-01-01T")), "a forged row: {text}");
    text
}

#[test]
fn stats_unix_text_escapes_every_name() {
    let n = Names::new("stats_unix_text_escapes_every_name");
    let out = raindrops_in(n.dir.path()).args(["stats", "--unix"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = assert_clean(&out.stdout);
    // One row each, with its numbers at the end.
    let row = |name: &str| {
        let rows: Vec<&str> = text.lines().filter(|l| l.contains(name)).collect();
        assert_eq!(rows.len(), 1, "{name:?} in\n{text}");
        rows[0].split_whitespace().rev().take(2).collect::<Vec<_>>()
    };
    assert_eq!(row(&Names::escaped(&n.forged)), ["1", "0"]);
    assert_eq!(row(&Names::escaped(&n.bytes)), ["2", "0"]);
    assert!(Names::escaped(&n.bytes).ends_with("/\\xde\\xad\\xbe\\xef"));
    let abstract_name = format!("@{}", raindrops::escape_bytes(&n.abstract_name));
    assert!(abstract_name.ends_with("-\\x1b[2J\\n"), "{abstract_name}");
    assert_eq!(row(&abstract_name), ["3", "0"]);
}

#[test]
fn stats_takes_any_bytes_as_addr() {
    let n = Names::new("stats_takes_any_bytes_as_addr");
    let run = |format: &str| {
        let out = raindrops_in(n.dir.path())
            .args(["stats", "--format", format])
            .arg(&n.bytes)
            .arg(&n.forged)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert_clean(&out.stdout)
    };
    let (bytes, forged) = (Names::escaped(&n.bytes), Names::escaped(&n.forged));
    let text = run("text");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    // The address column is as wide as the longest escaped name, capped at 35 bytes.
    assert!(lines[0].ends_with(&format!(" {bytes}          0          2")), "{text}");
    assert!(lines[1].ends_with(&format!(" {forged}          0          1")), "{text}");

    // JSON: a UTF-8 name as it is; one that is not, escaped and flagged.
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let listeners = json["listeners"].as_array().unwrap();
    assert_eq!(listeners[0]["address"], bytes.as_str());
    assert_eq!(listeners[0]["address_escaped"], true);
    assert_eq!(listeners[0]["queued"], 2);
    let back = raindrops::unescape_bytes(listeners[0]["address"].as_str().unwrap()).unwrap();
    assert_eq!(back, n.bytes.as_os_str().as_bytes());
    assert_eq!(listeners[1]["address"], n.forged.to_str().unwrap());
    assert_eq!(listeners[1].get("address_escaped"), None);

    // Prometheus label values are UTF-8: the escaped spelling, with the format's own escapes.
    let prom = run("prometheus");
    let label = bytes.replace('\\', "\\\\");
    assert!(prom.contains(&format!("raindrops_listener_queued{{addr=\"{label}\"}} 2\n")), "{prom}");
    let label = forged.replace('\\', "\\\\");
    assert!(prom.contains(&format!("raindrops_listener_queued{{addr=\"{label}\"}} 1\n")), "{prom}");
}

#[test]
fn top_snapshot_escapes_names_and_takes_any_bytes() {
    let n = Names::new("top_snapshot_escapes_names_and_takes_any_bytes");
    let out =
        Command::new(BIN).arg("top").arg(&n.bytes).arg(&n.forged).stdin(Stdio::null()).output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = assert_clean(&out.stdout);
    assert_eq!(text.lines().count(), 3, "a header and two rows:\n{text}");
    let row = |name: &str| {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{text}"));
        line[name.len()..].split_whitespace().collect::<Vec<_>>()
    };
    assert_eq!(row(&Names::escaped(&n.bytes)), ["0", "2"]);
    assert_eq!(row(&Names::escaped(&n.forged)), ["0", "1"]);
}

/// A running `raindrops watch`, killed on drop.
struct Watch {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Watch {
    fn start(addr: &OsStr) -> Watch {
        let mut child = Command::new(BIN)
            .args(["watch", "--listen", "127.0.0.1:0", "--delay", "100ms"])
            .arg(addr)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let line = stderr.lines().map_while(Result::ok).find(|l| l.contains("serving http://"));
        let line = line.expect("raindrops watch says where it serves");
        let addr = line.split("http://").nth(1).unwrap().trim_end_matches('/').parse().unwrap();
        Watch { child, addr }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_takes_any_bytes_and_serves_its_pages() {
    let n = Names::new("watch_takes_any_bytes_and_serves_its_pages");
    let watch = Watch::start(n.bytes.as_os_str());
    let url: String = n.bytes.as_os_str().as_bytes().iter().map(|b| format!("%{b:02X}")).collect();
    let body = wait_for("the queued histogram of the socket", || {
        let (status, body) = get(watch.addr, &format!("/queued/{url}.json")).ok()?;
        (status == 200).then_some(body)
    });
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["address"], Names::escaped(&n.bytes).as_str());
    assert_eq!(value["address_escaped"], true);
    assert_eq!(value["current"], 2);
    let (status, index) = get(watch.addr, "/").unwrap();
    assert_eq!(status, 200);
    assert!(index.contains("%DE%AD%BE%EF.html"), "{index}");
}

#[test]
fn scope_ids_are_refused_naming_the_input() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["stats", "top", "watch"] {
        let out = raindrops_in(dir.path()).args([cmd, "[::1%lo]:80"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("\"[::1%lo]:80\"") && stderr.contains("scope id"), "{stderr}");
    }
}
