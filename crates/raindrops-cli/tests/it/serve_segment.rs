//! `serve --segment FILE` (issue 14, item 6): a file that is not a segment is refused and left
//! as it was, a segment another live `serve` holds is refused naming it, a previous run's
//! counters are kept (or zeroed with `--segment-reset`), and a missing directory says so.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::serve::{DEADLINE, Serve, get, wait_for};
use crate::util::BIN;

/// `raindrops serve` with `args`, expected to exit at once (killed, and the test failed, if
/// it is still running after the deadline).
fn serve_fails(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > DEADLINE {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("serve {args:?} kept running: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `serve --segment FILE`, then with `--segment-reset` too: each must exit 1; their stderr.
fn refusals(file: &Path) -> Vec<String> {
    [false, true]
        .into_iter()
        .map(|reset| {
            let mut args = vec!["--segment", file.to_str().unwrap()];
            args.extend(reset.then_some("--segment-reset"));
            let out = serve_fails(&args);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
            stderr
        })
        .collect()
}

/// The `requests` total `raindrops dump` reads in `file`.
fn requests(file: &Path) -> u64 {
    dump(file)["total"]["requests"].as_u64().unwrap()
}

#[test]
fn a_file_that_is_not_a_segment_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        (
            "notes.txt",
            &b"precious notes, not counters: they must survive a typo in --segment\n"[..],
        ),
        ("short", &b"hi\n"[..]),
        ("empty", &b""[..]),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        for stderr in refusals(&path) {
            let says = format!("raindrops: --segment: {}: not a raindrops segment", path.display());
            assert!(stderr.contains(&says), "{name}: {stderr}");
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} was changed");
        }
    }
}

#[test]
fn a_segment_held_by_a_live_serve_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("serve.drops");
    let first = Serve::start_with(1, &["--segment", file.to_str().unwrap()]);
    for stderr in refusals(&file) {
        let holder = format!("in use: process {} (raindrops) holds its lock", first.pid());
        assert!(stderr.contains(&holder), "{stderr}");
    }
    // The first server still counts into the file at the path (not into a deleted inode).
    for _ in 0..3 {
        assert_eq!(get(first.addr, "/").unwrap().0, 200);
    }
    assert_eq!(requests(&file), 3);
}

/// `raindrops dump --format json FILE`.
fn dump(file: &Path) -> serde_json::Value {
    let out = Command::new(BIN).args(["dump", "--format", "json"]).arg(file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Whether process `pid` has exited (gone, or a zombie: its files are closed either way).
fn exited(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')').is_none_or(|i| stat[i + 1..].trim_start().starts_with('Z'))
}

#[test]
fn a_restart_keeps_the_counters_and_segment_reset_zeroes_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("serve.drops");
    let segment = ["--segment", file.to_str().unwrap()];
    // Run 1 dies of SIGKILL, master and worker, with a request in flight: its row keeps a
    // pid and `calling: 1`.
    let run = Serve::start_with(1, &segment);
    for _ in 0..4 {
        assert_eq!(get(run.addr, "/").unwrap().0, 200);
    }
    let addr = run.addr;
    let _slow = std::thread::spawn(move || get(addr, "/slow?ms=20000"));
    let worker = wait_for("the slow request calling", || {
        let dump = dump(&file);
        (dump["total"]["calling"] == 1).then(|| dump["workers"][0]["pid"].as_i64().unwrap())
    });
    let worker = worker as i32;
    // The master first, so that it cannot retire the worker's row.
    kill(run.pid(), Signal::SIGKILL).unwrap();
    kill(Pid::from_raw(worker), Signal::SIGKILL).unwrap();
    drop(run); // reaps the master
    wait_for("the killed worker to exit", || exited(worker).then_some(()));
    let left = dump(&file);
    assert_eq!(
        (left["total"]["requests"].as_u64(), left["total"]["calling"].as_u64()),
        (Some(5), Some(1))
    );

    // Run 2, same rows: the file is reused in place, the dead row retired on open.
    let mut run = Serve::start_with(1, &segment);
    let reused = dump(&file);
    assert_eq!(reused["total"]["requests"], 5, "counted in run 1: {reused}");
    assert_eq!(reused["total"]["calling"], 0, "run 1's gauges retired: {reused}");
    assert_eq!(reused["retired"]["requests"], 5, "{reused}");
    assert_ne!(reused["workers"][0]["pid"], worker, "run 1's pid retired: {reused}");
    assert_eq!(get(run.addr, "/").unwrap().0, 200);
    assert_eq!(requests(&file), 6);
    assert!(run.quit().success());

    // Run 3, other rows (3 workers): a new file starts with the old totals.
    let mut run = Serve::start_with(3, &segment);
    assert_eq!(requests(&file), 6);
    assert!(run.quit().success());

    let mut run = Serve::start_with(2, &[&segment[..], &["--segment-reset"]].concat());
    assert_eq!(requests(&file), 0, "--segment-reset starts from zero");
    assert!(run.quit().success());
}

#[test]
fn a_segment_of_other_counters_needs_segment_reset() {
    raindrops::counters! { struct Other { hits: counter } }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("other.drops");
    raindrops::Workers::<Other>::create(&file, 3).unwrap().worker(0).hits().add(9);
    let out = serve_fails(&["--segment", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--segment (--segment-reset replaces it): "), "{stderr}");
    assert!(stderr.contains("segment holds other counters"), "{stderr}");
    let mut run = Serve::start_with(1, &["--segment", file.to_str().unwrap(), "--segment-reset"]);
    assert_eq!(requests(&file), 0);
    assert!(run.quit().success());
}

#[test]
fn a_missing_directory_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("no-such-dir").join("serve.drops");
    let out = serve_fails(&["--segment", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let missing = dir.path().join("no-such-dir");
    assert!(
        stderr
            .ends_with(&format!("no such directory {} for the segment file\n", missing.display())),
        "{stderr}"
    );
}
