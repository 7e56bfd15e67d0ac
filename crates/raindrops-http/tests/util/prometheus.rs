//! A real Prometheus for the tests: started on a free loopback port, scraping one target every
//! second, queried over its HTTP API, killed on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::browser::{Reaped, spawn};

/// A running Prometheus scraping one target.
pub(crate) struct Prometheus {
    server: Reaped,
    pub(crate) addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// A free loopback port (bound then released; fine for a test).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Prometheus {
    /// `program` scraping `target` (its `/metrics`) every second.
    pub(crate) fn start(program: &Path, target: SocketAddr) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: raindrops\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = dir.path().join("prometheus.log");
        let server = Reaped(spawn(
            program,
            &[
                &format!("--config.file={}", config.display()),
                &format!("--storage.tsdb.path={}", dir.path().join("data").display()),
                &format!("--web.listen-address={addr}"),
            ],
            Some(&log),
        ));
        Prometheus { server, addr, log, _dir: dir }
    }

    /// The answer to an instant `query` (already URL-encoded), or null before Prometheus
    /// listens.
    pub(crate) async fn query(&self, query: &str) -> serde_json::Value {
        if tokio::net::TcpStream::connect(self.addr).await.is_err() {
            return serde_json::Value::Null; // not listening yet
        }
        let reply = super::get(self.addr, &format!("/api/v1/query?query={query}")).await;
        serde_json::from_str(&reply.body).unwrap_or(serde_json::Value::Null)
    }

    /// Polls (bounded: 60 s) until `ready` gives a value from the answer to `query` (already
    /// URL-encoded) once the latest scrape of the target succeeded (one may time out on a busy
    /// machine: the next succeeds).
    pub(crate) async fn wait_for<T>(
        &mut self,
        query: &str,
        mut ready: impl FnMut(&serde_json::Value) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.server.0.try_wait().unwrap() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("prometheus exited with {status}: {log}");
            }
            let up = self.query("up").await;
            if up["data"]["result"][0]["value"][1] == "1" {
                if let Some(value) = ready(&self.query(query).await) {
                    return value;
                }
            }
            if Instant::now() > deadline {
                let targets = super::get(self.addr, "/api/v1/targets").await;
                panic!("{query}: not in Prometheus after 60 s; targets: {}", targets.body);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
