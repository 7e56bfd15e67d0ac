//! Listener addresses: `IP:PORT`, `[IPv6]:PORT` or an absolute Unix socket path.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The address of a listening socket: TCP (IPv4 or IPv6) or a Unix socket path.
///
/// Parsed from the forms the `raindrops stats` command line accepts:
///
/// | input | meaning |
/// |-------|---------|
/// | `127.0.0.1:8080` | an IPv4 address and port |
/// | `0.0.0.0:8080` | the IPv4 wildcard: every local IPv4 address |
/// | `[::1]:8080` | an IPv6 address and port |
/// | `[::]:8080` | the IPv6 wildcard (dual-stack listeners also see IPv4 clients) |
/// | `[fe80::1%eth0]:80` | a scope id is accepted and stripped (sockets are matched by address) |
/// | `/run/app.sock` | an absolute Unix socket path |
///
/// Host names are not resolved: a listener is identified by the address it is bound to.
///
/// # Example
///
/// ```
/// use raindrops::ListenerAddr;
///
/// let addr: ListenerAddr = "[fe80::1%eth0]:80".parse()?;
/// assert_eq!(addr.to_string(), "[fe80::1]:80");
/// assert!("localhost:80".parse::<ListenerAddr>().is_err());
/// # Ok::<(), raindrops::AddrParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListenerAddr {
    /// A TCP listener's local address (scope id and flow info are always zero).
    Tcp(SocketAddr),
    /// A Unix stream socket's absolute path, as given (symlinks are resolved when querying).
    Unix(PathBuf),
}

impl ListenerAddr {
    /// The TCP address, if this is one.
    ///
    /// ```
    /// # use raindrops::ListenerAddr;
    /// let addr: ListenerAddr = "127.0.0.1:80".parse().unwrap();
    /// assert_eq!(addr.tcp().unwrap().port(), 80);
    /// ```
    pub fn tcp(&self) -> Option<SocketAddr> {
        match self {
            ListenerAddr::Tcp(sa) => Some(*sa),
            ListenerAddr::Unix(_) => None,
        }
    }

    /// The Unix socket path, if this is one.
    ///
    /// ```
    /// # use raindrops::ListenerAddr;
    /// let addr: ListenerAddr = "/run/app.sock".parse().unwrap();
    /// assert_eq!(addr.unix().unwrap().to_str(), Some("/run/app.sock"));
    /// ```
    pub fn unix(&self) -> Option<&Path> {
        match self {
            ListenerAddr::Tcp(_) => None,
            ListenerAddr::Unix(path) => Some(path),
        }
    }
}

impl fmt::Display for ListenerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenerAddr::Tcp(sa) => sa.fmt(f),
            ListenerAddr::Unix(path) => path.display().fmt(f),
        }
    }
}

impl From<SocketAddr> for ListenerAddr {
    fn from(sa: SocketAddr) -> Self {
        ListenerAddr::Tcp(normalize(sa))
    }
}

/// Drops what does not identify a listener (IPv6 scope id and flow info).
pub(crate) fn normalize(sa: SocketAddr) -> SocketAddr {
    match sa {
        SocketAddr::V4(_) => sa,
        SocketAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(*v6.ip(), v6.port(), 0, 0)),
    }
}

/// Why a listener address did not parse; see [`AddrParseError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddrErrorKind {
    /// The input was empty.
    Empty,
    /// No `:PORT` after the host.
    MissingPort,
    /// The port is not a number from 0 to 65535.
    BadPort,
    /// The host is not an IPv4 literal, or the bracketed part not an IPv6 literal.
    BadHost,
    /// A `[` without its `]`.
    UnclosedBracket,
}

/// A listener address that did not parse; the message quotes the input and says what was
/// expected.
///
/// ```
/// # use raindrops::{AddrErrorKind, ListenerAddr};
/// let err = "127.0.0.1".parse::<ListenerAddr>().unwrap_err();
/// assert_eq!(err.input(), "127.0.0.1");
/// assert_eq!(err.kind(), AddrErrorKind::MissingPort);
/// assert!(err.to_string().contains("\"127.0.0.1\""));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid listener address {input:?}: {} (expected IPv4:PORT, [IPv6]:PORT or an absolute \
     Unix socket path; host names are not resolved)",
    describe(*kind)
)]
pub struct AddrParseError {
    input: String,
    kind: AddrErrorKind,
}

fn describe(kind: AddrErrorKind) -> &'static str {
    match kind {
        AddrErrorKind::Empty => "empty address",
        AddrErrorKind::MissingPort => "missing \":PORT\"",
        AddrErrorKind::BadPort => "port must be a number from 0 to 65535",
        AddrErrorKind::BadHost => "host is not an IP address literal",
        AddrErrorKind::UnclosedBracket => "missing \"]\" after an IPv6 address",
    }
}

impl AddrParseError {
    /// The input that failed to parse, unchanged.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What was wrong with it.
    pub fn kind(&self) -> AddrErrorKind {
        self.kind
    }
}

impl FromStr for ListenerAddr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |kind| AddrParseError { input: input.to_owned(), kind };
        if input.is_empty() {
            return Err(err(AddrErrorKind::Empty));
        }
        if input.starts_with('/') {
            return Ok(ListenerAddr::Unix(PathBuf::from(input)));
        }
        let parse_port = |s: &str| {
            // u16::from_str accepts a leading '+'; a port is digits only.
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(AddrErrorKind::BadPort));
            }
            s.parse::<u16>().map_err(|_| err(AddrErrorKind::BadPort))
        };
        if let Some(rest) = input.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or(err(AddrErrorKind::UnclosedBracket))?;
            let port = after.strip_prefix(':').ok_or(err(AddrErrorKind::MissingPort))?;
            let port = parse_port(port)?;
            // A scope id (`%eth0`, `%2`) is accepted and dropped: sockets are matched by address.
            let host = host.split_once('%').map_or(host, |(h, _scope)| h);
            let ip = Ipv6Addr::from_str(host).map_err(|_| err(AddrErrorKind::BadHost))?;
            return Ok(ListenerAddr::Tcp(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0))));
        }
        let (host, port) = input.rsplit_once(':').ok_or(err(AddrErrorKind::MissingPort))?;
        let ip = Ipv4Addr::from_str(host).map_err(|_| err(AddrErrorKind::BadHost))?;
        let port = parse_port(port)?;
        Ok(ListenerAddr::Tcp(SocketAddr::V4(SocketAddrV4::new(ip, port))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(s: &str) -> String {
        s.parse::<ListenerAddr>().unwrap().to_string()
    }

    fn kind(s: &str) -> AddrErrorKind {
        s.parse::<ListenerAddr>().unwrap_err().kind()
    }

    #[test]
    fn good() {
        assert_eq!(ok("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(ok("0.0.0.0:8080"), "0.0.0.0:8080");
        assert_eq!(ok("[::1]:8080"), "[::1]:8080");
        assert_eq!(ok("[::]:8080"), "[::]:8080");
        assert_eq!(ok("[fe80::1%eth0]:80"), "[fe80::1]:80");
        assert_eq!(ok("/tmp/x.sock"), "/tmp/x.sock");
        assert_eq!(ok("127.0.0.1:0"), "127.0.0.1:0");
        assert_eq!(ok("1.2.3.4:65535"), "1.2.3.4:65535");
    }

    #[test]
    fn bad() {
        assert_eq!(kind(""), AddrErrorKind::Empty);
        assert_eq!(kind("127.0.0.1"), AddrErrorKind::MissingPort);
        assert_eq!(kind("localhost:80"), AddrErrorKind::BadHost);
        assert_eq!(kind("[::1:80"), AddrErrorKind::UnclosedBracket);
        assert_eq!(kind("[::1]80"), AddrErrorKind::MissingPort);
        assert_eq!(kind("127.0.0.1:70000"), AddrErrorKind::BadPort);
        assert_eq!(kind("127.0.0.1:+80"), AddrErrorKind::BadPort);
        assert_eq!(kind("127.0.0.1:"), AddrErrorKind::BadPort);
        assert_eq!(kind("::1:80"), AddrErrorKind::BadHost);
        assert_eq!(kind("relative.sock"), AddrErrorKind::MissingPort);
        let msg = "127.0.0.1:70000".parse::<ListenerAddr>().unwrap_err().to_string();
        assert!(msg.starts_with("invalid listener address \"127.0.0.1:70000\": port"), "{msg}");
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in any::<String>()) {
            match s.parse::<ListenerAddr>() {
                Ok(addr) => {
                    // Whatever parses prints back to something that parses to the same value.
                    let again: ListenerAddr = addr.to_string().parse().unwrap();
                    prop_assert_eq!(again, addr);
                }
                Err(e) => prop_assert_eq!(e.input(), s.as_str()),
            }
        }

        #[test]
        fn socket_addrs_round_trip(sa in any::<SocketAddr>()) {
            let sa = normalize(sa);
            let addr: ListenerAddr = sa.to_string().parse().unwrap();
            prop_assert_eq!(addr, ListenerAddr::Tcp(sa));
        }
    }
}
