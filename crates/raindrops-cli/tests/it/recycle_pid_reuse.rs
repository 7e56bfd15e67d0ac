//! Issue 17: a pid that stops being a child of the master between the read that listed it
//! and the signal is never signalled, even once another process has taken that pid.
//!
//! How it is made deterministic, with no timing: the scenario runs in a new pid namespace
//! (`unshare --pid --fork --mount-proc`), where this test binary is pid 1 and nothing else
//! forks unless the test says so, so writing `/proc/sys/kernel/ns_last_pid` decides the pid
//! of the next process. `recycle` runs with `RAINDROPS_RECYCLE_STOP_BEFORE_PIDFD` set, a test
//! hook that has it log a line and stop itself (SIGSTOP) after the read that listed a worker
//! it decided to recycle and before it opens that worker's pidfd. While it is stopped the
//! test kills the worker, waits until the master has reaped it, and starts an impostor (our
//! child, not the master's) that takes the very same pid; then it continues `recycle`. Code
//! that signalled the pid it read would signal the impostor, which records every signal it
//! gets; `recycle` must refuse it (it is not the master's child), signal nothing, and go on
//! until the master exits.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use raindrops_test_support::external::UNSHARE;
use raindrops_test_support::require_external;

use crate::recycle_sidecar::{KillOnDrop, LONG, Sidecar, children};
use crate::recycle_signals::{SIGNAL_RECORDER, pid, signal_recorder, signals_received, wait_ready};

/// Set for the run of [`in_a_pid_namespace_a_reused_pid_is_never_signalled`] inside the
/// namespace.
const INSIDE: &str = "RAINDROPS_TEST_INSIDE_PID_NAMESPACE";

/// Runs [`in_a_pid_namespace_a_reused_pid_is_never_signalled`], the test proper, as pid 1 of
/// a new pid namespace, with `recycle`'s stop-before-pidfd hook set (see the module's doc).
#[test]
fn a_pid_reused_between_the_read_and_the_signal_is_never_signalled() {
    let unshare = require_external!(UNSHARE);
    let mut command = Command::new(unshare);
    if !nix::unistd::geteuid().is_root() {
        command.arg("--map-root-user");
    }
    let test = "recycle_pid_reuse::in_a_pid_namespace_a_reused_pid_is_never_signalled";
    let out = command
        .args(["--pid", "--fork", "--mount-proc", "--"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", test, "--ignored", "--nocapture", "--test-threads", "1"])
        .env(INSIDE, "1")
        .env("RAINDROPS_RECYCLE_STOP_BEFORE_PIDFD", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("test result: ok. 1 passed"), "{stdout}\n{stderr}");
}

/// The scenario of the module's doc, run only by
/// [`a_pid_reused_between_the_read_and_the_signal_is_never_signalled`], as pid 1 of a new pid
/// namespace (it writes `ns_last_pid`).
#[test]
#[ignore = "run inside a new pid namespace by a_pid_reused_between_the_read_and_the_signal_is_never_signalled"]
fn in_a_pid_namespace_a_reused_pid_is_never_signalled() {
    if std::env::var_os(INSIDE).is_none() {
        eprintln!("not inside a pid namespace made for it: nothing done");
        return;
    }
    assert_eq!(std::process::id(), 1, "not the first process of a new pid namespace");
    let dir = tempfile::tempdir().unwrap();
    let (worker_file, impostor_file) = (dir.path().join("worker"), dir.path().join("impostor"));
    // The master reaps its one worker, then stays, childless, as the same process.
    let script = r#"env --default-signal sh -c "$REC" "$F" & wait; exec sleep 300"#;
    let master = Command::new("sh")
        .args(["-c", script])
        .env("REC", SIGNAL_RECORDER)
        .env("F", &worker_file)
        .spawn()
        .unwrap();
    let master = KillOnDrop(master);
    let master_pid = master.0.id();
    wait_ready(&worker_file);
    let [worker] = children(master_pid)[..] else {
        panic!("workers: {:?}", children(master_pid));
    };

    // RAINDROPS_RECYCLE_STOP_BEFORE_PIDFD is set for the whole namespace.
    let master_arg = master_pid.to_string();
    let args = ["--master", &master_arg, "--max-lifetime", "1ms..1ms", "--interval", "50ms"];
    let sidecar = Sidecar::start(&args);
    let stopping = format!("recycle: stopping before opening a pidfd for worker {worker}");
    let line = sidecar.wait_lines(1, LONG, |l| l.contains(&stopping))[0].clone();
    let recycle: u32 = line.split(['[', ']']).nth(1).and_then(|p| p.parse().ok()).unwrap();
    wait_until("recycle stopped", || state(recycle) == Some('T'));

    // Between the read and the signal: the worker dies, its pid goes to a non-child.
    kill(pid(worker), Signal::SIGKILL).unwrap();
    wait_until("the master reaped the worker", || !Path::new(&format!("/proc/{worker}")).exists());
    std::fs::write("/proc/sys/kernel/ns_last_pid", (worker - 1).to_string()).unwrap();
    let mut impostor = KillOnDrop(signal_recorder(&impostor_file).spawn().unwrap());
    assert_eq!(impostor.0.id(), worker, "the impostor did not get the worker's pid");
    wait_ready(&impostor_file);
    kill(pid(recycle), Signal::SIGCONT).unwrap();

    let refused = format!("recycle: worker {worker} is gone or no longer the master's child");
    let recycling = format!("recycle: recycling worker {worker}:");
    let decided = sidecar.wait_lines(1, LONG, |l| l.contains(&refused) || l.contains(&recycling));
    // Every later interval, to the end: the master exits, and so does recycle.
    drop(master);
    sidecar.wait_lines(1, LONG, |l| l.contains(&format!("master {master_pid} exited")));
    assert!(impostor.0.try_wait().unwrap().is_none(), "the impostor is gone");
    let received = signals_received(worker, &impostor_file);
    assert_eq!(received, [""; 0], "the impostor was signalled: {:#?}", sidecar.log());
    assert!(decided[0].contains(&refused), "{decided:#?}");
    let log = sidecar.log();
    assert!(!log.iter().any(|l| l.contains("sending")), "{log:#?}");
}

/// The state letter of `/proc/PID/stat` (`T` when stopped).
fn state(pid: u32) -> Option<char> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    text[text.rfind(')')? + 1..].trim_start().chars().next()
}

/// Polls `done` until it holds, failing after [`LONG`].
#[track_caller]
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < LONG, "{what}: not after {LONG:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
