//! Helpers: the binary under test, framed comparisons, measured runs.

use std::process::{Command, Stdio};

/// Path of the `raindrops` binary cargo built for these tests.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_raindrops");

/// `raindrops` as built by cargo for this test run.
pub(crate) fn raindrops() -> assert_cmd::Command {
    assert_cmd::Command::new(BIN)
}

/// `raindrops` run in `dir` (give each test its own `TempDir`).
pub(crate) fn raindrops_in(dir: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = raindrops();
    cmd.current_dir(dir);
    cmd
}

/// Asserts two texts are equal, printing both framed when they are not.
#[track_caller]
pub(crate) fn assert_text(expected: &str, actual: &str) {
    if expected != actual {
        panic!(
            "\n--- expected ---\n{expected}--- actual ---\n{actual}--- end ---\n\
             (first difference at byte {})",
            expected.bytes().zip(actual.bytes()).take_while(|(a, b)| a == b).count()
        );
    }
}

/// A finished child process: how it exited, what it printed, how long it took and its peak
/// resident memory.
#[derive(Debug)]
pub(crate) struct Measured {
    /// The exit code (`None`: killed by a signal).
    pub(crate) code: Option<i32>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
    /// From spawning to reaping.
    pub(crate) elapsed: std::time::Duration,
    /// The child's own CPU time (user + system, from `wait4`): unlike `elapsed`, what a busy
    /// machine cannot stretch.
    pub(crate) cpu: std::time::Duration,
    /// The child's own peak RSS in KiB: its memory's high-water mark (`VmHWM`) as it exits.
    pub(crate) max_rss_kib: u64,
}

/// Runs `cmd` to completion (stdin empty) and measures it: `wait4` gives this child's own CPU
/// time (unlike `RUSAGE_CHILDREN`, which mixes in every child of the test binary), and the
/// child, traced, stops as it exits so that its `VmHWM` can be read while its memory is still
/// there. `ru_maxrss` would not do: at `exec` Linux keeps in it the high-water mark of the
/// memory the child ran on before, the test binary's own (tens of MB while other tests run).
pub(crate) fn run_measured(cmd: &mut Command) -> Measured {
    use std::io::Read;
    use std::os::unix::process::CommandExt;

    use nix::sys::ptrace;
    use nix::unistd::Pid;

    // SAFETY: between fork and exec the closure makes one system call (ptrace), which is
    // async-signal-safe, and allocates nothing.
    unsafe { cmd.pre_exec(|| ptrace::traceme().map_err(std::io::Error::from)) };
    let start = std::time::Instant::now();
    #[expect(clippy::zombie_processes, reason = "reaped by wait4 below, not through std")]
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the command");
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).map(|_| bytes)
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().unwrap()));
    let stderr = read_all(Box::new(child.stderr.take().unwrap()));
    let pid = child.id() as nix::libc::pid_t;
    let mut status = 0;
    let mut peak_kib = None;
    // SAFETY: `rusage` is a C struct of integers, for which all zero bytes is a valid value.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are valid, writable and live for the call; `pid` is our
        // own child, not yet reaped (`child` is never waited on through std).
        let reaped = unsafe { nix::libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped != pid {
            let err = std::io::Error::last_os_error();
            assert_eq!(err.kind(), std::io::ErrorKind::Interrupted, "wait4({pid}): {err}");
            continue;
        }
        if !nix::libc::WIFSTOPPED(status) {
            break; // exited or killed
        }
        // A ptrace stop: at `exec` (SIGTRAP), as it exits, or a signal to pass on.
        let (traced, signal) = (Pid::from_raw(pid), nix::libc::WSTOPSIG(status));
        let event = status >> 16;
        let pass = if event == nix::libc::PTRACE_EVENT_EXIT {
            peak_kib = Some(vm_hwm_kib(pid));
            None
        } else if signal == nix::libc::SIGTRAP {
            let options = ptrace::Options::PTRACE_O_TRACEEXIT | ptrace::Options::PTRACE_O_EXITKILL;
            ptrace::setoptions(traced, options).expect("trace the child's exit");
            None
        } else {
            nix::sys::signal::Signal::try_from(signal).ok()
        };
        ptrace::cont(traced, pass).expect("resume the child");
    }
    let elapsed = start.elapsed();
    let status =
        <std::process::ExitStatus as std::os::unix::process::ExitStatusExt>::from_raw(status);
    Measured {
        code: status.code(),
        stdout: stdout.join().unwrap().unwrap(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap().unwrap()).into_owned(),
        elapsed,
        cpu: [usage.ru_utime, usage.ru_stime]
            .iter()
            .map(|t| {
                let (secs, micros) = (u64::try_from(t.tv_sec), u32::try_from(t.tv_usec));
                std::time::Duration::new(secs.unwrap_or(0), micros.unwrap_or(0) * 1000)
            })
            .sum(),
        max_rss_kib: peak_kib.expect("the child stopped as it exited"),
    }
}

/// `VmHWM` of `/proc/PID/status` in KiB: the peak RSS of the process's memory since `exec`.
fn vm_hwm_kib(pid: nix::libc::pid_t) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap();
    line.trim().trim_end_matches("kB").trim().parse().unwrap()
}

/// Runs `raindrops ARGS...`: it must exit 2 (a usage error) with each of `says` in its stderr.
#[track_caller]
pub(crate) fn assert_usage_error(args: &[&str], says: &[&str]) {
    let out = Command::new(BIN).args(args).output().expect("run raindrops");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    for text in says {
        assert!(stderr.contains(text), "{args:?}: no {text:?} in {stderr}");
    }
}
