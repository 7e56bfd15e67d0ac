//! Issue 17, item 2: `raindrops top --master PID` shows a master's workers from /proc (pid,
//! USS, PSS, RSS, age) and, with `--recycle ADDR`, the limit and state a running
//! `raindrops recycle` gave each.
#![cfg(target_os = "linux")]

use std::net::TcpListener;
use std::process::{Command, Output};

use raindrops_test_support::external::TMUX;
use raindrops_test_support::require_external;

use crate::recycle_metrics::{dry_run_with_metrics, scrape_until, sleeping_master};
use crate::recycle_scrape::value;
use crate::top::{Tmux, row};
use crate::util::BIN;

/// What the snapshot says when no `--recycle` is given.
const NO_RECYCLE: &str = "limit, state: known only to raindrops recycle: give --recycle ADDR";

/// `raindrops top ARGS` off a terminal (stdout a pipe): one snapshot.
fn top(args: &[&str]) -> Output {
    Command::new(BIN).arg("top").args(args).output().unwrap()
}

/// The master's table in a snapshot: each row's cells, from its `pid  uss ...` header to the
/// `sum` row (excluded).
fn master_rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .skip_while(|l| !l.starts_with("pid ") || !l.contains(" uss "))
        .skip(1)
        .take_while(|l| !l.starts_with("sum "))
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// A size cell such as `120.0K` or `512B`, more than nothing.
fn nonzero_bytes(cell: &str) -> bool {
    let number = cell.trim_end_matches(['B', 'K', 'M', 'G']);
    number.len() < cell.len() && number.parse::<f64>().is_ok_and(|n| n > 0.0)
}

/// A listener to name, so the snapshot lists it alone instead of the whole host's.
fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

#[test]
fn a_snapshot_lists_the_masters_workers_with_their_memory_and_says_why_no_limit() {
    let (master, workers) = sleeping_master(2);
    let (_listener, addr) = listener();
    let out = top(&["--master", &master.0.id().to_string(), &addr]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let rows = master_rows(&stdout);
    let mut pids: Vec<u32> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    pids.sort_unstable();
    assert_eq!(pids, workers, "{stdout}");
    for cells in &rows {
        // pid, uss, pss, rss, age, limit, state.
        assert_eq!(cells.len(), 7, "{stdout}");
        assert!(cells[1..4].iter().all(|c| nonzero_bytes(c)), "{stdout}");
        assert!(cells[4].ends_with(['s', 'm', 'h']), "{stdout}");
        assert_eq!(cells[5..], ["-", "-"], "{stdout}");
    }
    assert!(stdout.lines().any(|l| l.starts_with("sum ")), "{stdout}");
    assert!(stdout.contains(NO_RECYCLE), "{stdout}");
}

/// A dry run over limits of 1..2 bytes: `top --recycle` shows each worker's drawn limit and
/// its state, `due`.
#[test]
fn with_recycle_the_drawn_limit_and_state_are_filled() {
    let (master, workers) = sleeping_master(2);
    let pid = master.0.id().to_string();
    let (_sidecar, metrics) = dry_run_with_metrics(master.0.id(), "1..2");
    let due = |w: u32| format!("raindrops_recycle_worker_state{{pid=\"{w}\",state=\"due\"}}");
    scrape_until(metrics, |text| workers.iter().all(|&w| value(text, &due(w)) == Some(1.0)));
    let (_listener, addr) = listener();
    let out = top(&["--master", &pid, "--recycle", &metrics.to_string(), &addr]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let rows = master_rows(&stdout);
    assert_eq!(rows.len(), 2, "{stdout}");
    for cells in &rows {
        // pid, uss, pss, rss, age, limit (`1B uss`: two words), state.
        assert!(workers.contains(&cells[0].parse().unwrap()), "{stdout}");
        assert!(["1B", "2B"].contains(&cells[5].as_str()), "{stdout}");
        assert_eq!(cells[6..], ["uss", "due"], "{stdout}");
    }
    assert!(!stdout.contains(NO_RECYCLE), "{stdout}");
}

#[test]
fn a_missing_master_exits_1_a_bad_pid_2_and_an_unreachable_recycle_1() {
    let out = top(&["--master", "4200000"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--master 4200000: no such process"), "{stderr}");
    assert!(out.stdout.is_empty());
    for (args, says) in [
        (&["--master", "x"][..], "--master"),
        (&["--master", "1"], "--master"),
        (&["--recycle", "127.0.0.1:9300"], "--master"),
        (&["--master", "2", "--recycle", "nowhere"], "--recycle"),
    ] {
        let out = top(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // Nothing listens on a port just freed: the table, then the error and exit 1.
    let (master, workers) = sleeping_master(2);
    let closed = listener().1;
    let (_listener, addr) = listener();
    let out = top(&["--master", &master.0.id().to_string(), "--recycle", &closed, &addr]);
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(master_rows(&stdout).len(), workers.len(), "{stdout}");
    assert!(stderr.contains(&format!("--recycle {closed}: cannot connect")), "{stderr}");
}

/// The live view in tmux: the master's table with limit and state, re-sorted by `m`.
#[test]
fn the_live_view_shows_the_masters_workers_and_m_sorts_them() {
    let program = require_external!(TMUX);
    let (master, workers) = sleeping_master(2);
    let pid = master.0.id().to_string();
    let (_sidecar, metrics) = dry_run_with_metrics(master.0.id(), "1..2");
    let metrics = metrics.to_string();
    let (_listener, addr) = listener();
    let args = ["top", "--delay", "100ms", "--master", &pid, "--recycle", &metrics, &addr];
    let tmux = Tmux::start(&program, &args);
    let screen = tmux.wait_for("the master's workers, due", |s| {
        workers.iter().all(|w| row(s, &w.to_string()).is_some_and(|r| r.ends_with(&["due".into()])))
    });
    assert!(screen.contains(&format!("workers of master {pid} · limit, state from {metrics}")));
    assert!(screen.contains("uss▼"), "{screen}");
    let cells = row(&screen, &workers[0].to_string()).unwrap();
    assert!(cells[1..4].iter().all(|c| nonzero_bytes(c)), "{screen}");
    tmux.run(&["send-keys", "m"]);
    tmux.wait_for("the pss order", |s| s.contains("pss▼"));
    tmux.run(&["send-keys", "q"]);
    assert_eq!(tmux.exit_status(), 0);
}
