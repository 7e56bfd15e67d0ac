//! Issue 17: whom `raindrops recycle` must not signal: anyone in a dry run, and a master that
//! is not ours (exit 1, not a panic nor a usage error).
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use raindrops_test_support::external::SETPRIV;
use raindrops_test_support::require_external;

use crate::recycle_sidecar::{KillOnDrop, LONG, Sidecar, children};
use crate::util::BIN;

/// A shell that writes the name of each signal it gets (of those a server's preset or
/// escalation could send, bar SIGKILL) to the file `$0`, after `ready` once its traps are set
/// (and its pid in `$0.pid`),
/// and otherwise waits forever: `env --default-signal sh -c "$SIGNAL_RECORDER" FILE`. (A
/// non-interactive shell starts a `&` command with SIGINT and SIGQUIT ignored, and a shell
/// cannot trap a signal ignored when it started: `env --default-signal` undoes that.)
pub(crate) const SIGNAL_RECORDER: &str = r#"for s in HUP INT QUIT USR1 USR2 ALRM TERM TTIN TTOU WINCH; do
  trap "echo $s >> '$0'" $s
done
echo $$ > "$0.pid"
echo ready >> "$0"
while :; do sleep 1 & wait $!; done"#;

/// Waits until the [`SIGNAL_RECORDER`] writing to `file` is ready (its traps are set): its pid.
#[track_caller]
pub(crate) fn wait_ready(file: &Path) -> u32 {
    wait_recorded(file, |text| text.starts_with("ready\n"));
    let pid = std::fs::read_to_string(file.with_extension("pid")).unwrap();
    pid.trim().parse().unwrap_or_else(|_| panic!("{pid:?}"))
}

/// The signals a [`SIGNAL_RECORDER`] (process `pid`, writing to `file`) has received: the
/// test sends it SIGUSR2 as an end mark and waits until it recorded it. A shell runs its
/// pending traps in the order of the signals' numbers, and every signal that could come
/// before has a lower number than SIGUSR2 bar SIGALRM, SIGTERM, SIGTTIN, SIGTTOU and
/// SIGWINCH: those are read once the mark is there, after a signal sent earlier was handled.
#[track_caller]
pub(crate) fn signals_received(pid: u32, file: &Path) -> Vec<String> {
    kill(self::pid(pid), Signal::SIGUSR2).unwrap();
    let text = wait_recorded(file, |text| text.lines().any(|l| l == "USR2"));
    text.lines().filter(|l| !matches!(*l, "ready" | "USR2")).map(str::to_owned).collect()
}

/// The text of `file` once `done` holds for it.
#[track_caller]
fn wait_recorded(file: &Path, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if done(&text) {
            return text;
        }
        assert!(start.elapsed() < LONG, "{}: {text:?}", file.display());
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

/// A [`SIGNAL_RECORDER`] writing to `file`, to spawn.
pub(crate) fn signal_recorder(file: &Path) -> Command {
    let mut command = Command::new("env");
    command.args(["--default-signal", "sh", "-c", SIGNAL_RECORDER]).arg(file);
    command
}

/// The pid as nix wants it.
pub(crate) fn pid(pid: u32) -> Pid {
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
    let workers = [wait_ready(&file("w1")), wait_ready(&file("w2"))];
    let master_pid = master.0.id();
    assert_eq!(sorted(children(master_pid)), sorted(workers.to_vec()), "not the workers");
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
    let third = wait_ready(&file("w3"));
    sidecar.wait_lines(1, LONG, |l| l.contains(&decision(third)));
    let all = sorted(vec![workers[0], workers[1], third]);
    assert_eq!(sorted(children(master_pid)), all, "a worker is gone");
    for (w, name) in [(workers[0], "w1"), (workers[1], "w2"), (third, "w3")] {
        assert_eq!(signals_received(w, &file(name)), [""; 0], "worker {w} ({name}) was signalled");
    }
    assert!(!sidecar.log().iter().any(|l| l.contains("sending")), "{:#?}", sidecar.log());
}

/// `pids`, sorted.
fn sorted(mut pids: Vec<u32>) -> Vec<u32> {
    pids.sort_unstable();
    pids
}

/// Run as another user (nobody, through `setpriv`), `recycle` finds a master of root's it may
/// not signal: exit 1 with a message naming the master and the permission problem, not a
/// panic nor a usage error. (Only root can run it as another user: skipped otherwise.)
#[test]
fn a_master_not_ours_to_signal_exits_1_naming_it() {
    let setpriv = require_external!(SETPRIV);
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: only root can run recycle as another user");
        return;
    }
    let master = KillOnDrop(Command::new("sleep").arg("300").spawn().unwrap());
    let master_pid = master.0.id().to_string();
    let out = Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN, "recycle"])
        .args(["--master", &master_pid, "--max-memory", "1G"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let says = format!("raindrops: master {master_pid} is not ours to signal (EPERM: ");
    assert!(stderr.contains(&says) && stderr.contains("Operation not permitted"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
