//! Issue 17: the real prefork servers `raindrops recycle` is tested against (unicorn, puma,
//! gunicorn), each started with 2 workers and an app that keeps 8 MiB per request to `/leak`.
#![cfg(target_os = "linux")]

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::recycle_process::{LONG, Sidecar, children};
use crate::serve::get;

/// A prefork server we start: its master, the master's start time (ticks after boot, field
/// 22 of `/proc/PID/stat`) and where it listens.
pub(crate) struct Server {
    master: Child,
    master_start: u64,
    pub(crate) addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Runs `program args` in a directory holding `files`, listening on `addr` (which `args`
    /// name), and waits for 2 workers answering.
    pub(crate) fn start(
        program: &Path,
        args: &[&str],
        files: &[(&str, &str)],
        addr: SocketAddr,
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let master = Command::new(program)
            .args(args)
            .current_dir(dir.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let master_start = start_time(master.id()).expect("the master's /proc/PID/stat");
        let server = Server { master, master_start, addr, _dir: dir };
        let start = Instant::now();
        while children(server.pid()).len() != 2 || get(addr, "/").map(|r| r.0).ok() != Some(200) {
            let log = std::fs::read_to_string(server._dir.path().join("server.log"));
            assert!(start.elapsed() < LONG, "{program:?} never served: {log:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub(crate) fn pid(&self) -> u32 {
        self.master.id()
    }

    /// Waits until the master has `count` workers again.
    #[track_caller]
    pub(crate) fn wait_workers(&self, count: usize) {
        let start = Instant::now();
        while children(self.pid()).len() != count {
            assert!(start.elapsed() < LONG, "workers: {:?}", children(self.pid()));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The master we started is still the one running, and the one `sidecar` watched
    /// throughout: not exited (nor a zombie), the same start time, named as the master in the
    /// sidecar's log, never said to have exited, never signalled; the sidecar still runs.
    #[track_caller]
    pub(crate) fn check_same_master(&mut self, sidecar: &mut Sidecar) {
        let pid = self.pid();
        assert!(self.master.try_wait().unwrap().is_none(), "master {pid} exited");
        assert_eq!(start_time(pid), Some(self.master_start), "master {pid} is not the same");
        assert!(sidecar.running(), "recycle stopped: {:#?}", sidecar.log());
        let log = sidecar.log();
        let watching = format!("recycle: watching the workers of master {pid} ");
        assert!(log.iter().any(|l| l.contains(&watching)), "{log:#?}");
        let (exited, signalled) = (format!("master {pid} exited"), format!(" pid={pid} "));
        for line in &log {
            assert!(!line.contains(&exited), "{line}");
            assert!(!(line.contains("recycling: sending ") && line.contains(&signalled)), "{line}");
        }
    }
}

/// When process `pid` started, in ticks after boot (field 22 of `/proc/PID/stat`).
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_ascii_whitespace().nth(19)?.parse().ok()
}

impl Drop for Server {
    fn drop(&mut self) {
        // TERM: each server's master stops and reaps its workers; SIGKILL if it takes too long.
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid()).unwrap());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let start = Instant::now();
        while self.master.try_wait().ok().flatten().is_none() && start.elapsed() < LONG {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.master.kill();
        let _ = self.master.wait();
    }
}

/// A free loopback port, for servers that take an address but no descriptor.
pub(crate) fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// The Rack app for unicorn and puma: `/leak` keeps 8 MiB for the worker's life.
pub(crate) const RACK_APP: &str = r#"KEEP = []
run lambda { |env|
  KEEP << ("x" * (8 << 20)) if env["PATH_INFO"] == "/leak"
  [200, { "content-type" => "text/plain", "content-length" => "3" }, ["ok\n"]]
}
"#;

/// The WSGI app for gunicorn, the same as [`RACK_APP`].
pub(crate) const WSGI_APP: &str = r#"KEEP = []
def app(environ, start_response):
    if environ["PATH_INFO"] == "/leak":
        KEEP.append(bytearray(8 << 20))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]
"#;
