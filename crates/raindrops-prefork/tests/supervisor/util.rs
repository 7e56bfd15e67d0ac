//! A master process under test, its workers as seen in `/proc`, and a line client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long any wait of these tests may take before it fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(30);

/// Polls `check` every 20 ms until it returns `Some`, failing with `what` after `limit`.
#[track_caller]
pub(crate) fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < limit, "gave up after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running master (this test binary in the master role), killed on drop if still running.
pub(crate) struct Master {
    child: Child,
    pub(crate) pid: Pid,
    pub(crate) addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Master {
    /// Starts a master running `role` with `PREFORK_TEST_*` settings, on `127.0.0.1:0` unless
    /// `LISTEN` is among them, and waits for its `listening on` line.
    pub(crate) fn start(role: &str, settings: &[(&str, &str)]) -> Master {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.env(crate::app::ROLE, role).env("PREFORK_TEST_LISTEN", "127.0.0.1:0");
        Self::spawn(command, settings)
    }

    /// Starts `command` (which must run this binary in a master role) with `settings`.
    pub(crate) fn spawn(mut command: Command, settings: &[(&str, &str)]) -> Master {
        for (name, value) in settings {
            command.env(format!("PREFORK_TEST_{name}"), value);
        }
        let mut child = command.stderr(Stdio::piped()).spawn().expect("start the master");
        let pid = Pid::from_raw(child.id() as i32);
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut master = Master { child, pid, addr: "0.0.0.0:0".parse().unwrap(), log };
        let line = master.wait_log("listening on ", |l| l.starts_with("listening on "));
        master.addr = line["listening on ".len()..].parse().expect("a TCP address");
        master
    }

    /// Everything the master and its workers wrote on stderr so far.
    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits for a log line matching `matches` and returns it.
    #[track_caller]
    pub(crate) fn wait_log(&self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        wait_for(DEADLINE, what, || self.log().into_iter().find(|l| matches(l)))
    }

    pub(crate) fn signal(&self, signal: Signal) {
        kill(self.pid, signal).unwrap();
    }

    /// The master's live children (zombies not counted), sorted.
    pub(crate) fn workers(&self) -> Vec<u32> {
        children(self.pid)
    }

    /// Waits until exactly `n` workers are alive and each answers (all serving) and returns
    /// their pids.
    #[track_caller]
    pub(crate) fn wait_serving(&self, n: usize) -> Vec<u32> {
        wait_for(DEADLINE, &format!("{n} serving workers"), || {
            let pids = self.workers();
            let serving = self.log().iter().filter(|l| l.ends_with(") serving")).count();
            (pids.len() == n && serving >= n && self.answered_by_all(&pids)).then_some(pids)
        })
    }

    /// Whether requests reach every worker in `pids` (tries a few connections).
    fn answered_by_all(&self, pids: &[u32]) -> bool {
        let mut seen = Vec::new();
        for _ in 0..(pids.len() * 20) {
            if let Ok(reply) = request(self.addr, "pid") {
                seen.extend(reply.split(' ').next().and_then(|p| p.parse::<u32>().ok()));
            }
            if pids.iter().all(|p| seen.contains(p)) {
                return true;
            }
        }
        false
    }

    /// Waits for the master to exit and returns its status.
    #[track_caller]
    pub(crate) fn wait_exit(&mut self) -> ExitStatus {
        let child = &mut self.child;
        wait_for(DEADLINE, "the master to exit", || child.try_wait().unwrap())
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // Our own child, by pid; its workers follow it (the test of that is in cases).
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// The live (not zombie) children of `parent`, from `/proc/*/stat`.
pub(crate) fn children(parent: Pid) -> Vec<u32> {
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the command name in parentheses: state, ppid.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else { return false };
            let mut fields = rest.split(' ');
            let state = fields.next();
            let ppid = fields.next().and_then(|p| p.parse::<i32>().ok());
            state != Some("Z") && ppid == Some(parent.as_raw())
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Whether `pid` is gone (or a zombie).
pub(crate) fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rfind(')').is_some_and(|i| stat[i + 2..].starts_with('Z')),
        Err(_) => true,
    }
}

/// One command, one connection: returns the whole answer.
pub(crate) fn request(addr: SocketAddr, command: &str) -> std::io::Result<String> {
    let mut stream = connect(addr, command)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer.trim_end().to_owned())
}

/// Connects and sends `command`; the caller reads the answer.
pub(crate) fn connect(addr: SocketAddr, command: &str) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, DEADLINE)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(format!("{command}\n").as_bytes())?;
    Ok(stream)
}

/// Reads one line of an answer.
pub(crate) fn read_line(stream: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    stream.read_line(&mut line).unwrap();
    line.trim_end().to_owned()
}
