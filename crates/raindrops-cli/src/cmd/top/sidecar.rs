//! `top --recycle ADDR`: what only a running `raindrops recycle` knows of each worker (the
//! memory limit it drew and the worker's state), read from its `--metrics-listen` endpoint:
//! one `GET /metrics` over HTTP/1.0 per sample, bounded in time and size, read by
//! [`exposition`](super::exposition).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use raindrops_http::exposition::families::{RECYCLE_WORKER_LIMIT_BYTES, RECYCLE_WORKER_STATE};

use super::exposition;

/// The longest a scrape may take to connect, and between two reads or writes.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The largest answer read (a sidecar's text is about 1 KiB per worker).
const MAX_ANSWER: u64 = 4 << 20;

/// What the sidecar says of one worker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Known {
    /// The memory limit drawn for it, and the metric it is on (`uss`).
    pub(super) limit: Option<(String, u64)>,
    /// Its state (`serving`, `due`, `recycling`).
    pub(super) state: Option<String>,
}

/// Scrapes `addr` once: what it knows, by worker pid.
pub(super) fn read(addr: SocketAddr) -> Result<HashMap<u32, Known>, String> {
    let text = fetch(addr).map_err(|e| format!("--recycle {addr}: {e}"))?;
    known(&text).map_err(|e| format!("--recycle {addr}: /metrics {e}"))
}

/// `GET /metrics`: the body of a 200 answer.
fn fetch(addr: SocketAddr) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| {
        format!("cannot connect (is `raindrops recycle --metrics-listen {addr}` running?): {e}")
    })?;
    let io = |e: std::io::Error| format!("GET /metrics: {e}");
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    let request = format!(
        "GET /metrics HTTP/1.0\r\nHost: {addr}\r\nAccept: application/openmetrics-text\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER + 1).read_to_end(&mut answer).map_err(io)?;
    if answer.len() as u64 > MAX_ANSWER {
        return Err(format!("GET /metrics: the answer is over {MAX_ANSWER} bytes"));
    }
    let end =
        answer.windows(4).position(|w| w == b"\r\n\r\n").ok_or("GET /metrics: no HTTP answer")?;
    let head = String::from_utf8_lossy(&answer[..end]);
    let status = head.lines().next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("200") {
        let quoted: String = status.chars().take(80).collect();
        return Err(format!("GET /metrics answered {quoted:?}"));
    }
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return Err("GET /metrics: a chunked answer to HTTP/1.0".into());
    }
    Ok(String::from_utf8_lossy(&answer[end + 4..]).into_owned())
}

/// The limit and state of each worker the text names.
fn known(text: &str) -> Result<HashMap<u32, Known>, String> {
    let mut workers: HashMap<u32, Known> = HashMap::new();
    for sample in exposition::parse(text)? {
        let limit = sample.name == RECYCLE_WORKER_LIMIT_BYTES.name;
        let state = sample.name == RECYCLE_WORKER_STATE.name;
        if !limit && !state {
            continue;
        }
        let pid = sample.label("pid").unwrap_or_default();
        let pid: u32 = pid.parse().map_err(|_| format!("{}: pid {pid:?}", sample.name))?;
        let known = workers.entry(pid).or_default();
        if limit && sample.value >= 0.0 {
            let metric = sample.label("metric").unwrap_or_default().to_owned();
            // Saturating: a value past u64::MAX reads as u64::MAX.
            known.limit = Some((metric, sample.value as u64));
        } else if state && sample.value == 1.0 {
            known.state = sample.label("state").map(str::to_owned);
        }
    }
    Ok(workers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_states_by_pid() {
        let text = "\
raindrops_recycle_worker_memory_bytes{pid=\"7\",metric=\"uss\"} 5
raindrops_recycle_worker_limit_bytes{pid=\"7\",metric=\"uss\"} 1048576
raindrops_recycle_worker_state{pid=\"7\",state=\"serving\"} 0
raindrops_recycle_worker_state{pid=\"7\",state=\"due\"} 1
raindrops_recycle_worker_state{pid=\"8\",state=\"serving\"} 1
# EOF
";
        let workers = known(text).unwrap();
        assert_eq!(workers[&7].limit, Some(("uss".into(), 1 << 20)));
        assert_eq!(workers[&7].state.as_deref(), Some("due"));
        assert_eq!(workers[&8], Known { limit: None, state: Some("serving".into()) });
        let err = known("raindrops_recycle_worker_state{pid=\"x\",state=\"due\"} 1\n").unwrap_err();
        assert!(err.contains("pid \"x\""), "{err}");
    }

    #[test]
    fn a_closed_port_and_a_non_http_answer_are_errors() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 256];
            let _ = stream.read(&mut request);
            stream.write_all(b"HTTP/1.0 404 Not Found\r\n\r\nnope").unwrap();
        });
        let err = read(addr).unwrap_err();
        server.join().unwrap();
        assert!(err.contains("answered \"HTTP/1.0 404 Not Found\""), "{err}");
        let err = read(addr).unwrap_err();
        assert!(err.contains(&format!("--recycle {addr}: cannot connect")), "{err}");
    }
}
