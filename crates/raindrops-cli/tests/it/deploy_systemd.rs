//! `deploy/systemd/raindrops-watch.service`: `systemd-analyze` verifies it and rates it
//! hardened, and what lets it run as its own unprivileged user holds: an unprivileged user's
//! `raindrops stats` sees a root-owned TCP and Unix listener and their queues (sock_diag), and
//! its `stats --wait` the ages of the queued connections (their `tcp_info`).
#![cfg(target_os = "linux")]

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use raindrops_test_support::external::{SETPRIV, SYSTEMD_ANALYZE};
use raindrops_test_support::require_external;

use crate::serve::wait_for;
use crate::util::BIN;

fn unit() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/systemd/raindrops-watch.service");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `program ARGS FILE`'s output.
fn run(program: &Path, args: &[&str], file: &Path) -> Output {
    Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()))
}

#[test]
fn the_unit_verifies_and_is_hardened() {
    let text = unit();
    for setting in [
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "CapabilityBoundingSet=\n",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "ExecStart=/usr/local/bin/raindrops watch --listen 127.0.0.1:9292 --unix",
    ] {
        assert!(text.contains(setting), "the unit lacks {setting:?}");
    }
    assert!(!text.contains("PrivateNetwork=yes"), "the Watcher must see the host's listeners");
    // verify checks ExecStart's binary exists: point it at the one under test.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("raindrops-watch.service");
    std::fs::write(&file, text.replace("/usr/local/bin/raindrops", BIN)).unwrap();
    let analyze = require_external!(SYSTEMD_ANALYZE);
    // The man page is not installed here (Documentation=man:raindrops(1)).
    let out = run(&analyze, &["verify", "--man=no"], &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Other units of the machine may warn; none about ours.
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains("raindrops-watch")).collect();
    assert!(out.status.success() && ours.is_empty(), "systemd-analyze verify: {out:?}");
    // Its exposure, 0 (locked down) to 10 (unsafe), at most 2.0 ("OK").
    let out = run(&analyze, &["security", "--offline=yes", "--threshold=20"], &file);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "systemd-analyze security:\n{report}{out:?}");
    assert!(report.contains("Overall exposure level for raindrops-watch.service"), "{report}");
}

/// Whether this test runs as root (else no other user's listener to compare with: skipped).
fn root() -> bool {
    let uid = Command::new("id").arg("-u").output().expect("id -u");
    let root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    if !root {
        eprintln!("skipped: not root, so no other user's listener to compare with");
    }
    root
}

/// Runs a copy of the binary as `nobody` (no groups, no capabilities) through `setpriv`.
struct Nobody {
    setpriv: PathBuf,
    bin: PathBuf,
    _dir: tempfile::TempDir,
}

impl Nobody {
    fn new(setpriv: PathBuf) -> Nobody {
        // The binary where nobody may run it (the checkout may be under a private home).
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.path().join("raindrops");
        std::fs::copy(BIN, &bin).unwrap();
        let nobody = Nobody { setpriv, bin, _dir: dir };
        let whoami = nobody.run(&["--version"]);
        assert!(whoami.status.success(), "raindrops as nobody: {whoami:?}");
        nobody
    }

    /// `raindrops ARGS` as nobody; it must succeed.
    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new(&self.setpriv)
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .args(["--inh-caps=-all", "--bounding-set=-all"])
            .arg(&self.bin)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "raindrops {args:?} as nobody: {out:?}");
        out
    }
}

#[test]
fn an_unprivileged_user_sees_a_root_listener_and_its_queue() {
    if !root() {
        return;
    }
    let nobody = Nobody::new(require_external!(SETPRIV));
    // The listeners, owned by root, with connections never accepted.
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_addr = tcp.local_addr().unwrap();
    let _tcp_clients: Vec<TcpStream> =
        (0..3).map(|_| TcpStream::connect(tcp_addr).unwrap()).collect();
    let dir = tempfile::tempdir().unwrap(); // 0700: nobody cannot even reach the path
    let path = dir.path().join("root.sock");
    let _unix = UnixListener::bind(&path).unwrap();
    let _unix_clients: Vec<UnixStream> =
        (0..2).map(|_| UnixStream::connect(&path).unwrap()).collect();
    let (tcp_name, unix_name) = (tcp_addr.to_string(), path.display().to_string());
    let rows = wait_for("nobody's stats to show both queues", || {
        let out = nobody.run(&["stats", &tcp_name, &unix_name]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // `timestamp address active queued`
        let queued = |name: &str| {
            text.lines().find_map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                (cols.get(1) == Some(&name)).then(|| cols[2..].join(" "))
            })
        };
        (queued(&tcp_name).as_deref() == Some("0 3")
            && queued(&unix_name).as_deref() == Some("0 2"))
        .then_some(text)
    });
    assert_eq!(rows.lines().count(), 2, "{rows}");
}

/// What the unit's comment and the README claim: an unprivileged user also reads each queued
/// connection's `tcp_info` of a listener it does not own, so `stats --wait` gives its age.
#[test]
fn an_unprivileged_user_sees_how_long_a_root_listeners_queue_waits() {
    if !root() {
        return;
    }
    let nobody = Nobody::new(require_external!(SETPRIV));
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap().to_string();
    let _clients: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    let row = wait_for("nobody's stats --wait to age both queued connections", || {
        let out = nobody.run(&["stats", "--wait", "--format", "json", &addr]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let row = json["listeners"][0].clone();
        (row["queued"] == 2 && row["waiting"] == 2).then_some(row)
    });
    assert_eq!(row["address"], addr.as_str(), "{row}");
    assert!(row["oldest_ms"].is_u64(), "no numeric oldest_ms as nobody: {row}");
    assert!(row["p99_ms"].is_u64(), "{row}");
}
