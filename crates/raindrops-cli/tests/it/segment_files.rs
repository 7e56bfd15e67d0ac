//! `dump` and `top` on segment files they did not write (issue 14, item 5): crafted headers are
//! refused before anything is mapped, quickly and in little memory, and files are opened
//! read-only.
#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use raindrops::Workers;
use raindrops_http::middleware::HttpStats;

use crate::util::{BIN, Measured, run_measured};

/// The bounds for a hostile header: exit 1 within 1 s (of CPU time), in under 50 MB.
const MAX_TIME: Duration = Duration::from_secs(1);
const MAX_RSS_KIB: u64 = 50 * 1024;

/// The fields of a segment header (layout version 1), written byte by byte as an attacker
/// would, independently of the library's encoder.
#[derive(Clone, Copy)]
struct Header {
    header_len: u64,
    capacity: u64,
    len: u64,
    rows: u32,
    width: u32,
    names_len: Option<u32>,
}

/// Two counters and a gauge, as `serve` writes them.
const NAMES: &[u8] = b"g:calling\ng:writing\nc:requests\n";

impl Header {
    /// A valid workers header of `rows` rows of 5 slots (3 fields, heartbeat, pid).
    fn workers(rows: u32) -> Header {
        let slots = (u64::from(rows) + 1) * 5;
        Header {
            header_len: 4096,
            capacity: slots.next_multiple_of(32),
            len: slots,
            rows,
            width: 5,
            names_len: None,
        }
    }

    /// Writes the header at the start of `path`, and makes the file as long as the header
    /// claims (sparse: a few KB on disk) when that is a size a file can have, so that only
    /// the limits stand in the way.
    fn write(&self, path: &Path) {
        let mut bytes = vec![0u8; 4096];
        let mut put = |offset: usize, value: &[u8]| {
            bytes[offset..offset + value.len()].copy_from_slice(value);
        };
        put(0, b"RAINDROP");
        put(8, &1u32.to_ne_bytes());
        put(12, &128u32.to_ne_bytes());
        put(16, &self.header_len.to_ne_bytes());
        put(24, &self.capacity.to_ne_bytes());
        put(32, &self.len.to_ne_bytes());
        put(40, &self.rows.to_ne_bytes());
        put(44, &self.width.to_ne_bytes());
        put(48, &self.names_len.unwrap_or(NAMES.len() as u32).to_ne_bytes());
        put(64, NAMES);
        std::fs::write(path, &bytes).unwrap();
        let claimed = self.capacity.checked_mul(128).and_then(|n| n.checked_add(self.header_len));
        if let Some(len) = claimed.filter(|&len| len <= 1 << 43) {
            std::fs::File::options().write(true).open(path).unwrap().set_len(len).unwrap();
        }
    }
}

/// Each hostile header and what the refusal must say.
fn hostile() -> Vec<(&'static str, Header, &'static str)> {
    let workers = Header::workers(2);
    vec![
        // The file: valid but for 2^26 worker rows (and the capacity they need).
        (
            "huge rows",
            Header::workers(1 << 26),
            "worker rows is 67108864, above the limit of 65536",
        ),
        (
            "huge capacity",
            Header { capacity: 1 << 26, len: 1 << 26, rows: 0, width: 0, ..workers },
            "capacity is 67108864, above the limit of 1048576",
        ),
        (
            "huge header length",
            Header { header_len: 1 << 40, ..workers },
            "header length is 1099511627776, above the limit of 65536",
        ),
        (
            "huge row width",
            Header { width: u32::MAX, ..workers },
            "slots per row is 4294967295, above the limit of 1024",
        ),
        (
            "capacity * 128 overflows",
            Header { capacity: u64::MAX / 64, ..workers },
            "capacity is 288230376151711743, above the limit of 1048576",
        ),
        (
            "rows * width within limits, beyond the slots",
            Header { rows: 65_536, width: 1024, capacity: 1 << 20, len: 1 << 20, ..workers },
            "worker rows do not fit the slots in use",
        ),
        (
            "rows narrower than their fields and heartbeat and pid",
            Header { width: 4, ..workers },
            "worker rows do not fit the slots in use",
        ),
        (
            "names table beyond the header",
            Header { names_len: Some(u32::MAX), ..workers },
            "names table overflows the header",
        ),
    ]
}

#[track_caller]
fn assert_refused(what: &str, run: &Measured, says: &str) {
    assert_eq!(run.code, Some(1), "{what}: {run:?}");
    assert!(run.stderr.contains(says), "{what}: expected {says:?} in {:?}", run.stderr);
    // "At once": the 1 s as CPU time, which load cannot stretch (wall time only
    // bounded, generously, against a hang).
    assert!(run.cpu < MAX_TIME, "{what}: took {:?} of CPU", run.cpu);
    assert!(run.elapsed < 30 * MAX_TIME, "{what}: took {:?}", run.elapsed);
    assert!(run.max_rss_kib < MAX_RSS_KIB, "{what}: peak RSS {} KiB", run.max_rss_kib);
}

#[test]
fn dump_refuses_hostile_headers_at_once_in_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    for (what, header, says) in hostile() {
        let path = dir.path().join(what.replace(' ', "_"));
        header.write(&path);
        for format in ["text", "json", "prometheus"] {
            let run = run_measured(Command::new(BIN).args(["dump", "-f", format]).arg(&path));
            assert!(run.stdout.is_empty(), "{what}: printed {} bytes", run.stdout.len());
            assert_refused(what, &run, says);
            eprintln!("dump -f {format}, {what}: {:?}, {} KiB", run.elapsed, run.max_rss_kib);
        }
    }
}

#[test]
fn top_refuses_hostile_headers_at_once_in_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    for (what, header, says) in hostile() {
        let path = dir.path().join(what.replace(' ', "_"));
        header.write(&path);
        let run = run_measured(Command::new(BIN).args(["top", "--segment"]).arg(&path).arg(&addr));
        assert_refused(what, &run, says);
        eprintln!("top, {what}: {:?}, {} KiB", run.elapsed, run.max_rss_kib);
    }
}

#[test]
fn dump_and_top_do_not_wait_on_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fifo");
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for args in [&["dump"][..], &["top", "127.0.0.1:1", "--segment"]] {
        let run = run_measured(Command::new(BIN).args(args).arg(&path));
        assert_refused("a FIFO", &run, "not a raindrops segment: 0 bytes");
    }
}

/// A legit workers file as large as the limits allow is still read, in bounded memory.
#[test]
fn dump_streams_a_file_at_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full");
    let workers = Workers::<HttpStats>::create(&path, 65_536).unwrap();
    workers.worker(65_535).requests().add(7);
    let run = run_measured(Command::new(BIN).args(["dump", "-f", "json"]).arg(&path));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let value: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(value["total"]["requests"], 7);
    assert_eq!(value["workers"].as_array().map(Vec::len), Some(65_536));
    assert_eq!(value["workers"][65_535]["counters"]["requests"], 7);
    // The mapping (40 MiB) is read once; the rows are never all held (as JSON they are more
    // than 10 MiB of text, as values several more).
    eprintln!("dump -f json of 65,536 rows: {:?}, {} KiB", run.elapsed, run.max_rss_kib);
    assert!(run.max_rss_kib < 2 * MAX_RSS_KIB, "peak RSS {} KiB", run.max_rss_kib);
}

/// `path` made readable by everyone and writable by no one, in a directory everyone may
/// enter, and a command that runs as a user who is not its owner: as root, the `nobody` user,
/// since root may open any file for writing.
fn read_only(dir: &Path, path: &Path, args: &[&str]) -> Command {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut command = if nix::unistd::geteuid().is_root() {
        // The test binary's own directory may be closed to `nobody`: run a link (or copy) of
        // the binary from `dir`.
        let bin: PathBuf = dir.join("raindrops");
        if !bin.exists() && std::fs::hard_link(BIN, &bin).is_err() {
            std::fs::copy(BIN, &bin).unwrap();
        }
        let mut command = Command::new(bin);
        command.uid(65534).gid(65534).current_dir(dir);
        command
    } else {
        Command::new(BIN)
    };
    command.args(args).arg(path);
    command
}

#[test]
fn dump_and_top_need_only_read_permission() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.drops");
    let workers = Workers::<HttpStats>::create(&path, 2).unwrap();
    workers.worker(1).requests().add(3);
    let out = read_only(dir.path(), &path, &["dump"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dump of a read-only file: {stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\nrequests: 3\n"), "{out:?}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let out = read_only(dir.path(), &path, &["top", &addr, "--segment"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "top of a read-only file: {stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("sum") && l.contains(" 3 ")), "{text}");
}
