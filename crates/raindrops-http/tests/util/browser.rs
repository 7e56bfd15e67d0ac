//! Outside programs driven by the tests: headless Chromium (flags safe as root, a fresh
//! profile each time), each bounded in time and reaped.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Kills and reaps a child process (one this test started) when dropped.
pub(crate) struct Reaped(pub(crate) Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `program`; its stderr goes to `log` if given (a long-running child must not fill a
/// pipe nobody reads), else to a pipe like its stdout.
pub(crate) fn spawn(program: &Path, args: &[&str], log: Option<&Path>) -> Child {
    let stderr = match log {
        Some(log) => Stdio::from(std::fs::File::create(log).unwrap()),
        None => Stdio::piped(),
    };
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(if log.is_some() { Stdio::null() } else { Stdio::piped() })
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()))
}

/// Runs headless Chromium (the program at `chromium`) with `args` (bounded: 60 s, then
/// killed) and returns its output.
pub(crate) fn chromium(chromium: &Path, profile: &Path, args: &[&str]) -> Output {
    let profile = format!("--user-data-dir={}", profile.display());
    let mut all = vec![
        "--headless",
        "--no-sandbox", // needed as root; harmless otherwise
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        &profile,
    ];
    all.extend_from_slice(args);
    finish(spawn(chromium, &all, None), args)
}

/// Waits for `child` (bounded: 60 s, then killed) and returns its output.
pub(crate) fn finish(child: Child, what: &[&str]) -> Output {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("{what:?} did not finish in 60 s");
        }
    }
}

/// Console messages and page errors Chromium logged.
pub(crate) fn console_errors(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught") || l.contains("ERR_"))
        .map(str::to_owned)
        .collect()
}
