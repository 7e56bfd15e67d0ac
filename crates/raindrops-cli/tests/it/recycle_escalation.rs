//! Issue 17: a worker that ignores the graceful signal gets the escalation in order, a second
//! apart whatever `--interval` is: graceful ×10, abrupt ×5, then SIGKILL.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::{Command, Stdio};

use crate::recycle_sidecar::{KillOnDrop, LONG, Sidecar};
use crate::recycle_signals::wait_ready;

/// A worker that traps each signal of `$TRAPS`, writing its name and the time
/// (`QUIT 1700000000.123456789`) to the file `$0`, and otherwise waits forever.
const TIMED_RECORDER: &str = r#"for s in $TRAPS; do
  trap "echo $s \$(date +%s.%N) >> '$0'" $s
done
echo $$ > "$0.pid"
echo ready >> "$0"
while :; do sleep 1 & wait $!; done"#;

/// A shell master of one [`TIMED_RECORDER`] worker writing to `DIR/w`: when the worker ends,
/// the master writes its wait status and the time to `DIR/status` (`137 1700000016.1`), then
/// exits at the end of its standard input (with no other child meanwhile).
fn master(dir: &Path, traps: &str) -> KillOnDrop {
    let script = r#"env --default-signal sh -c "$REC" "$D/w" &
wait $!
echo "$? $(date +%s.%N)" > "$D/status"
read _ || :"#;
    let master = Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .env("REC", TIMED_RECORDER)
        .env("TRAPS", traps)
        .env("D", dir)
        .spawn()
        .expect("sh");
    KillOnDrop(master)
}

/// What an escalation did to a worker: the signals it recorded with their times, then the
/// signal that ended it (its wait status minus 128) and when.
struct Escalated {
    recorded: Vec<(String, f64)>,
    killed_by: i32,
    died: f64,
    log: Vec<String>,
    worker: u32,
}

/// Recycles the one worker of a [`master`] whose worker traps `traps` (past a 1 ms lifetime,
/// with `args`), until the worker is gone: then the master exits and so must `recycle`, with 0.
fn escalate(traps: &str, args: &[&str]) -> Escalated {
    let dir = tempfile::tempdir().unwrap();
    let mut master = master(dir.path(), traps);
    let worker = wait_ready(&dir.path().join("w"));
    let pid = master.0.id().to_string();
    let mut all = vec!["--master", &pid, "--max-lifetime", "1ms..1ms"];
    all.extend(args);
    let mut sidecar = Sidecar::start(&all);
    let gone = format!("recycle: recycled worker {worker} is gone, after ");
    sidecar.wait_lines(1, LONG, |l| l.contains(&gone));
    let status = std::fs::read_to_string(dir.path().join("status")).unwrap();
    drop(master.0.stdin.take());
    assert!(master.0.wait().unwrap().success());
    assert_eq!(sidecar.wait_exit(), Some(0), "{:#?}", sidecar.log());
    let (code, died) = status.trim().split_once(' ').unwrap();
    let recorded = std::fs::read_to_string(dir.path().join("w")).unwrap();
    let recorded = recorded
        .lines()
        .filter(|l| *l != "ready")
        .map(|l| {
            let (name, time) = l.split_once(' ').unwrap_or_else(|| panic!("{l:?}"));
            (name.to_owned(), time.parse().unwrap())
        })
        .collect();
    Escalated {
        recorded,
        killed_by: code.parse::<i32>().unwrap() - 128,
        died: died.parse().unwrap(),
        log: sidecar.log(),
        worker,
    }
}

impl Escalated {
    /// The recorded signals' names.
    fn names(&self) -> Vec<&str> {
        self.recorded.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// Consecutive signals (the last one the worker's death) are a second apart: 0.7 to 1.6 s,
    /// generous bounds for a busy machine; a skipped step would be 2 s, an interval's pace 5 s.
    #[track_caller]
    fn check_spacing(&self) {
        let times: Vec<f64> =
            self.recorded.iter().map(|(_, t)| *t).chain(std::iter::once(self.died)).collect();
        let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|gap| (0.7..=1.6).contains(gap)), "gaps {gaps:?}: {:#?}", self.log);
    }

    /// The log says the escalation moved from `from` to `to`.
    #[track_caller]
    fn check_moved(&self, from: &str, to: &str) {
        let says = format!("worker {} is still there after ", self.worker);
        let moved = format!("escalating from {from} to {to}");
        let found = self.log.iter().any(|l| l.contains(&says) && l.contains(&moved));
        assert!(found, "no {moved:?}: {:#?}", self.log);
    }

    /// The log says the worker was gone after `signals` signals.
    #[track_caller]
    fn check_gone_after(&self, signals: u32) {
        let says = format!("worker {} is gone, after {signals} signal(s) in ", self.worker);
        assert!(self.log.iter().any(|l| l.contains(&says)), "no {says:?}: {:#?}", self.log);
    }
}

/// The default escalation (unicorn's QUIT, TERM) at `interval`: a worker trapping both
/// records QUIT ×10, TERM ×5 a second apart, then dies by SIGKILL a second later.
fn quit_term_kill_a_second_apart(interval: &str) {
    let run = escalate("QUIT TERM", &["--interval", interval]);
    let mut expected = vec!["QUIT"; 10];
    expected.extend(["TERM"; 5]);
    assert_eq!(run.names(), expected, "{:#?}", run.log);
    assert_eq!(run.killed_by, 9, "not SIGKILL: {:#?}", run.log);
    run.check_spacing();
    run.check_moved("SIGQUIT", "SIGTERM");
    run.check_moved("SIGTERM", "SIGKILL");
    run.check_gone_after(16);
}

#[test]
fn escalation_steps_are_a_second_apart_at_a_one_second_interval() {
    quit_term_kill_a_second_apart("1s");
}

#[test]
fn escalation_steps_are_a_second_apart_at_a_five_second_interval() {
    quit_term_kill_a_second_apart("5s");
}

/// `--graceful USR1 --abrupt INT`: a worker trapping USR1 records it ×10, a second apart,
/// then dies by the first INT.
#[test]
fn explicit_graceful_and_abrupt_signals_are_sent_in_order() {
    let run = escalate("USR1", &["--graceful", "USR1", "--abrupt", "INT", "--interval", "200ms"]);
    assert_eq!(run.names(), ["USR1"; 10], "{:#?}", run.log);
    assert_eq!(run.killed_by, 2, "not SIGINT: {:#?}", run.log);
    run.check_spacing();
    run.check_moved("SIGUSR1", "SIGINT");
    run.check_gone_after(11);
}
