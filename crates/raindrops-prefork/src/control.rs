//! Requests from workers to the master, over one pipe: a worker's
//! [`request_restart`](crate::WorkerContext::request_restart) writes one line, the master
//! reads them in its loop.
//!
//! A line is `restart ROW PID REASON\n`, at most [`MAX_LINE`] bytes: below `PIPE_BUF`, so
//! each write is atomic and lines of concurrent workers never interleave.

/// The longest line a worker writes (the reason is cut to fit).
pub(crate) const MAX_LINE: usize = 256;

/// A worker asks to be replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RestartRequest {
    /// The asking worker's row.
    pub(crate) row: usize,
    /// The asking worker's pid (the master ignores a request whose pid no longer owns `row`).
    pub(crate) pid: u32,
    /// Why, in the worker's words (one line).
    pub(crate) reason: String,
}

impl RestartRequest {
    /// The line to write: the reason on one line, cut on a character boundary to fit.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut line = format!("restart {} {} ", self.row, self.pid);
        for c in self.reason.chars().map(|c| if c.is_control() { ' ' } else { c }) {
            if line.len() + c.len_utf8() >= MAX_LINE {
                break;
            }
            line.push(c);
        }
        line.push('\n');
        line.into_bytes()
    }

    /// Parses one line (without its newline); `None` for anything else.
    fn decode(line: &[u8]) -> Option<RestartRequest> {
        let line = std::str::from_utf8(line).ok()?;
        let mut parts = line.splitn(4, ' ');
        (parts.next()? == "restart").then_some(())?;
        let row = parts.next()?.parse().ok()?;
        let pid = parts.next()?.parse().ok()?;
        Some(RestartRequest { row, pid, reason: parts.next().unwrap_or("").to_owned() })
    }
}

/// Splits the bytes read from the pipe into requests, keeping a partial line for later.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    pending: Vec<u8>,
}

impl Decoder {
    /// Adds `bytes` and returns every complete, well-formed request; malformed lines are
    /// dropped, and so is a partial line longer than any worker writes.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<RestartRequest> {
        self.pending.extend_from_slice(bytes);
        let mut requests = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            requests.extend(RestartRequest::decode(&line[..end]));
        }
        if self.pending.len() > MAX_LINE {
            self.pending.clear();
        }
        requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(reason: &str) -> RestartRequest {
        RestartRequest { row: 3, pid: 4242, reason: reason.to_owned() }
    }

    #[test]
    fn round_trip_across_partial_reads() {
        let mut bytes = request("memory 300 MiB > 256 MiB").encode();
        bytes.extend(request("").encode());
        let mut decoder = Decoder::default();
        let (a, b) = bytes.split_at(10);
        assert_eq!(decoder.feed(a), []);
        assert_eq!(decoder.feed(b), [request("memory 300 MiB > 256 MiB"), request("")]);
    }

    #[test]
    fn reasons_are_one_line_and_cut_to_fit() {
        let long = "é\n".repeat(500);
        let line = request(&long).encode();
        assert!(line.len() <= MAX_LINE);
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        let decoded = Decoder::default().feed(&line);
        assert!(decoded[0].reason.starts_with("é é é"));
    }

    #[test]
    fn garbage_is_dropped() {
        let mut decoder = Decoder::default();
        assert_eq!(decoder.feed(b"hello\nrestart x 1 r\nrestart 1\n"), []);
        assert_eq!(decoder.feed(&[b'x'; 1000]), []);
        assert_eq!(
            decoder.feed(b"\nrestart 1 2 ok\n"),
            [RestartRequest { row: 1, pid: 2, reason: "ok".into() }]
        );
    }
}
