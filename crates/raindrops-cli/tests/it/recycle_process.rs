//! Issue 17: a `raindrops recycle` the tests run, its log read line by line, and the shell
//! masters they start (their children from /proc; killed with them when dropped).
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::BIN;

/// How long a recycling run may take on a busy machine.
pub(crate) const LONG: Duration = Duration::from_secs(120);

/// A running `raindrops recycle`, its stderr collected line by line.
pub(crate) struct Sidecar {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Sidecar {
    pub(crate) fn start(args: &[&str]) -> Sidecar {
        let mut child = Command::new(BIN)
            .arg("recycle")
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("raindrops recycle");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stderr, lines) = (child.stderr.take().unwrap(), Arc::clone(&log));
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        Sidecar { child, log, reader: Some(reader) }
    }

    /// Kills it and reads its stderr to the end.
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
    }

    /// Whether it is still running.
    pub(crate) fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Lines matching `keep`, waiting until there are at least `count` of them.
    #[track_caller]
    pub(crate) fn wait_lines(
        &self,
        count: usize,
        within: Duration,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        self.wait_lines_polling(count, within, keep, || {})
    }

    /// [`wait_lines`](Self::wait_lines), calling `poll` before each look at the log.
    #[track_caller]
    pub(crate) fn wait_lines_polling(
        &self,
        count: usize,
        within: Duration,
        keep: impl Fn(&str) -> bool,
        mut poll: impl FnMut(),
    ) -> Vec<String> {
        let start = Instant::now();
        loop {
            poll();
            let lines: Vec<String> = self.log().into_iter().filter(|l| keep(l)).collect();
            if lines.len() >= count {
                return lines;
            }
            assert!(
                start.elapsed() < within,
                "{} of {count} lines: {:#?}",
                lines.len(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the exit: its status code.
    #[track_caller]
    pub(crate) fn wait_exit(&mut self) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(start.elapsed() < LONG, "still running: {:#?}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address `recycle` printed: `metrics on http://ADDR/metrics`.
pub(crate) fn metrics_addr(sidecar: &Sidecar) -> SocketAddr {
    let line = sidecar.wait_lines(1, LONG, |l| l.contains("metrics on http://"))[0].clone();
    line.split("http://")
        .nth(1)
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// The children of `pid`, from /proc.
pub(crate) fn children(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        all.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
    }
    all
}

/// Kills (SIGKILL) a shell we started and the children it started, by pid, when dropped.
pub(crate) struct KillOnDrop(pub(crate) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for child in children(self.0.id()) {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(child).unwrap());
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until a child of `master` is `sleep` (has exec'd it): a shell's `(trap '' QUIT; exec
/// sleep 300) &` has QUIT's default action for a moment after the fork, and a QUIT then would
/// end it; `sleep` ignores it from the start.
#[track_caller]
pub(crate) fn wait_sleeping_child(master: u32) {
    let start = Instant::now();
    let is_sleep =
        |w: &u32| std::fs::read_to_string(format!("/proc/{w}/comm")).is_ok_and(|c| c == "sleep\n");
    while !children(master).iter().any(is_sleep) {
        assert!(start.elapsed() < LONG, "no child of {master} became sleep");
        std::thread::sleep(Duration::from_millis(20));
    }
}
