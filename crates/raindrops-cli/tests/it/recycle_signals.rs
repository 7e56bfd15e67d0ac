//! Issue 17: whom `raindrops recycle` must not signal: anyone in a dry run, and a master that
//! is not ours (exit 1, not a panic nor a usage error).
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::recycle_sidecar::{KillOnDrop, LONG, Sidecar, children};

/// A shell that writes the name of each signal it gets (of those a server's preset or
/// escalation could send, bar SIGKILL) to the file `$0`, after `ready` once its traps are set,
/// and otherwise waits forever: `env --default-signal sh -c "$SIGNAL_RECORDER" FILE`. (A
/// non-interactive shell starts a `&` command with SIGINT and SIGQUIT ignored, and a shell
/// cannot trap a signal ignored when it started: `env --default-signal` undoes that.)
pub(crate) const SIGNAL_RECORDER: &str = r#"for s in HUP INT QUIT USR1 USR2 ALRM TERM TTIN TTOU WINCH; do
  trap "echo $s >> '$0'" $s
done
echo ready >> "$0"
while :; do sleep 1 & wait $!; done"#;

/// What a [`SIGNAL_RECORDER`] wrote to `file`, once it is ready (its traps are set).
#[track_caller]
pub(crate) fn recorded(file: &Path) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.starts_with("ready\n") {
            return text;
        }
        assert!(start.elapsed() < LONG, "{} never got ready: {text:?}", file.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A shell master whose workers are [`SIGNAL_RECORDER`]s writing to `DIR/w1` and `DIR/w2`; on
/// SIGUSR1 it starts a third, writing to `DIR/w3`.
fn recording_master(dir: &Path) -> KillOnDrop {
    let script = r#"env --default-signal sh -c "$REC" "$D/w1" &
env --default-signal sh -c "$REC" "$D/w2" &
trap 'env --default-signal sh -c "$REC" "$D/w3" &' USR1
while :; do wait; done"#;
    let master = Command::new("sh")
        .args(["-c", script])
        .env("REC", SIGNAL_RECORDER)
        .env("D", dir)
        .spawn()
        .expect("sh");
    KillOnDrop(master)
}

/// The pid as nix wants it.
fn pid(pid: u32) -> Pid {
    Pid::from_raw(i32::try_from(pid).unwrap())
}

/// `--dry-run` logs its decision for each worker and signals nothing. The workers record
/// every signal they get. The test waits for the decision line of both workers, then has the
/// master start a third and waits for the decision about it: that line comes from a later
/// interval than the first two (the third worker did not exist before), so the intervals
/// that decided the first two have run to their end, escalation step included, and a later
/// one has run too. Then the first two must still be there, having recorded no signal.
#[test]
fn a_dry_run_signals_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let master = recording_master(dir.path());
    let file = |name: &str| -> PathBuf { dir.path().join(name) };
    for name in ["w1", "w2"] {
        recorded(&file(name));
    }
    let master_pid = master.0.id();
    let workers = children(master_pid);
    assert_eq!(workers.len(), 2, "{workers:?}");
    let args = [
        "--master",
        &master_pid.to_string(),
        "--max-lifetime",
        "1ms..1ms",
        "--interval",
        "50ms",
        "--dry-run",
    ];
    let sidecar = Sidecar::start(&args);
    let decision = |w: u32| format!("recycle: dry run: would recycle worker {w}: lived ");
    for &w in &workers {
        sidecar.wait_lines(1, LONG, |l| l.contains(&decision(w)));
    }
    kill(pid(master_pid), Signal::SIGUSR1).unwrap();
    recorded(&file("w3"));
    let third = children(master_pid).into_iter().find(|w| !workers.contains(w)).unwrap();
    sidecar.wait_lines(1, LONG, |l| l.contains(&decision(third)));
    let mut now = children(master_pid);
    now.sort_unstable();
    let mut expected = [workers[0], workers[1], third];
    expected.sort_unstable();
    assert_eq!(now, expected, "a worker is gone");
    for name in ["w1", "w2", "w3"] {
        assert_eq!(recorded(&file(name)), "ready\n", "{name} got a signal");
    }
    assert!(!sidecar.log().iter().any(|l| l.contains("sending")), "{:#?}", sidecar.log());
}
