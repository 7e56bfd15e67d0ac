//! [`ConnectionPolicy`]: the timeouts and caps every server here applies to its connections.

use std::time::Duration;

use super::streams::StreamSlots;

/// How long a new connection may take to send its first request head (10 s).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a keep-alive connection may take, after a response, to send its next request
/// head (60 s).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The connection cap when the open-file limit allows it (512).
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Streamed responses (the Watcher's `/tail`) at once (32).
pub const DEFAULT_MAX_STREAMS: usize = 32;
/// Descriptors kept out of the default cap for everything else a server opens: stdio, its
/// listeners, netlink and `/proc` reads, the runtime's own, and connections being refused.
const RESERVED_FDS: usize = 64;

/// The timeouts and caps of a server's connections; [`Server`](super::Server) applies them.
///
/// * `header_read_timeout`: a connection that has not sent a complete request head this long
///   after connecting is closed (slowloris);
/// * `idle_timeout`: a keep-alive connection that has not sent its next complete request head
///   this long after the previous response is closed (a slow next head gets no more time than
///   silence); a connection whose response is still being sent (a `/tail` stream) is never
///   idle;
/// * `max_connections`: connections served at once; at the cap, the connection that has
///   waited longest for a request head is closed to make room for a new one, and when every
///   connection is answering a request the new one is answered a minimal 503 and closed; the
///   server keeps accepting;
/// * `max_streams`: streamed responses at once, counted by [`StreamSlots`]; beyond it a
///   streaming endpoint answers 503.
///
/// The default cap is [`DEFAULT_MAX_CONNECTIONS`], lowered to sit below the process's
/// open-file limit (minus descriptors kept for everything else), so the process never runs
/// out of descriptors however many clients connect.
///
/// ```
/// use std::time::Duration;
/// use raindrops_http::server::ConnectionPolicy;
///
/// let policy = ConnectionPolicy {
///     header_read_timeout: Duration::from_secs(2),
///     ..ConnectionPolicy::default()
/// };
/// assert_eq!(policy.idle_timeout, Duration::from_secs(60));
/// assert!(policy.max_connections >= 1 && policy.max_connections <= 512);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionPolicy {
    /// Time a new connection has to send its first request head.
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection has, after a response, to send its next request head.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Streamed responses at once.
    pub max_streams: usize,
}

impl Default for ConnectionPolicy {
    fn default() -> Self {
        ConnectionPolicy {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: default_max_connections(open_files_limit()),
            max_streams: DEFAULT_MAX_STREAMS,
        }
    }
}

impl ConnectionPolicy {
    /// The stream cap of this policy, to give the endpoints that stream (e.g.
    /// [`WatcherBuilder::streams`](crate::watcher::WatcherBuilder::streams)).
    ///
    /// ```
    /// let slots = raindrops_http::server::ConnectionPolicy::default().stream_slots();
    /// assert_eq!(slots.max(), 32);
    /// ```
    pub fn stream_slots(&self) -> StreamSlots {
        StreamSlots::new(self.max_streams)
    }
}

/// [`DEFAULT_MAX_CONNECTIONS`], or fewer when the open-file limit is lower: at least 1.
fn default_max_connections(open_files: Option<usize>) -> usize {
    let room = open_files.map_or(DEFAULT_MAX_CONNECTIONS, |n| n.saturating_sub(RESERVED_FDS));
    room.clamp(1, DEFAULT_MAX_CONNECTIONS)
}

/// The soft `RLIMIT_NOFILE` of this process, from `/proc/self/limits` (`None` when unreadable
/// or unlimited).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files(&limits)
}

/// The soft limit on the `Max open files` line of a `/proc/PID/limits` text.
fn parse_open_files(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_read_from_proc() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             62811                62811                processes\n\
                      Max open files            256                  524288               files\n";
        assert_eq!(parse_open_files(limits), Some(256));
        assert_eq!(parse_open_files("Max open files  unlimited unlimited files\n"), None);
        assert_eq!(parse_open_files(""), None);
        assert!(open_files_limit().is_some());
    }

    #[test]
    fn the_default_cap_sits_below_the_open_file_limit() {
        assert_eq!(default_max_connections(Some(256)), 192);
        assert_eq!(default_max_connections(Some(1024)), 512);
        assert_eq!(default_max_connections(Some(10)), 1);
        assert_eq!(default_max_connections(None), 512);
    }
}
