//! Listener addresses: `IP:PORT`, `[IPv6]:PORT` or an absolute Unix socket path.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::ListenerName;
use crate::escape_bytes;

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
/// | `[fe80::1]:80` | a link-local address: matches its listeners on every interface |
/// | `/run/app.sock` | an absolute Unix socket path, any bytes (see [`from_os_str`](Self::from_os_str)) |
///
/// Host names are not resolved: a listener is identified by the address it is bound to. A
/// scope id (`[fe80::1%eth0]:80`) is refused ([`AddrErrorKind::ScopeId`]) rather than silently
/// dropped: listeners are matched by address and port only, so `[fe80::1]:80` already counts
/// the listeners of that address on every interface, and a scope could not narrow it.
///
/// `Display` prints a Unix path as it is when it is UTF-8 and escaped ([`escape_bytes`]) when
/// it is not; [`name`](Self::name) gives the exact bytes and a terminal-safe spelling.
///
/// # Example
///
/// ```
/// use raindrops::{AddrErrorKind, ListenerAddr};
///
/// let addr: ListenerAddr = "[fe80::1]:80".parse()?;
/// assert_eq!(addr.to_string(), "[fe80::1]:80");
/// assert!("localhost:80".parse::<ListenerAddr>().is_err());
/// let scoped = "[fe80::1%eth0]:80".parse::<ListenerAddr>().unwrap_err();
/// assert_eq!(scoped.kind(), AddrErrorKind::ScopeId);
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

    /// The address as a [`ListenerName`]: exact bytes, printed escaped.
    ///
    /// ```
    /// # use raindrops::ListenerAddr;
    /// let addr = ListenerAddr::from_os_str("/tmp/a\nb".as_ref())?;
    /// assert_eq!(addr.name().to_string(), "/tmp/a\\nb");
    /// # Ok::<(), raindrops::AddrParseError>(())
    /// ```
    pub fn name(&self) -> ListenerName {
        ListenerName::from(self)
    }

    /// Parses an address given as an OS string (a command-line argument): a Unix path may be
    /// any bytes, such as `"/tmp/\xde\xad\xbe\xef"`; a TCP address must be text.
    ///
    /// # Errors
    ///
    /// As [`FromStr`]; the error quotes the input escaped.
    ///
    /// ```
    /// use std::os::unix::ffi::OsStrExt;
    /// use raindrops::ListenerAddr;
    ///
    /// let path = std::ffi::OsStr::from_bytes(b"/tmp/\xde\xad\xbe\xef");
    /// let addr = ListenerAddr::from_os_str(path)?;
    /// assert_eq!(addr.unix().unwrap().as_os_str(), path);
    /// assert_eq!(addr.to_string(), "/tmp/\\xde\\xad\\xbe\\xef");
    /// let bad = ListenerAddr::from_os_str(std::ffi::OsStr::from_bytes(b"\xff:80")).unwrap_err();
    /// assert!(bad.to_string().contains("\"\\xff:80\""), "{bad}");
    /// # Ok::<(), raindrops::AddrParseError>(())
    /// ```
    pub fn from_os_str(input: &OsStr) -> Result<Self, AddrParseError> {
        Self::from_bytes(input.as_bytes())
    }

    /// [`from_os_str`](Self::from_os_str) for raw bytes (a percent-decoded URL path, say).
    ///
    /// # Errors
    ///
    /// As [`FromStr`].
    ///
    /// ```
    /// # use raindrops::ListenerAddr;
    /// assert!(ListenerAddr::from_bytes(b"/\xde").unwrap().unix().is_some());
    /// assert!(ListenerAddr::from_bytes(b"127.0.0.1:80").unwrap().tcp().is_some());
    /// ```
    pub fn from_bytes(input: &[u8]) -> Result<Self, AddrParseError> {
        if input.first() == Some(&b'/') {
            return Ok(ListenerAddr::Unix(PathBuf::from(OsStr::from_bytes(input))));
        }
        match std::str::from_utf8(input) {
            Ok(text) => text.parse(),
            // Not a path, and no IP address or port has a non-UTF-8 byte.
            Err(_) => Err(AddrParseError { input: input.to_vec(), kind: AddrErrorKind::BadHost }),
        }
    }
}

impl fmt::Display for ListenerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenerAddr::Tcp(sa) => sa.fmt(f),
            ListenerAddr::Unix(path) => match path.to_str() {
                Some(text) => text.fmt(f),
                None => escape_bytes(path.as_os_str().as_bytes()).fmt(f),
            },
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
    /// An IPv6 scope id (`%eth0`): listeners are matched by address and port only, so a scope
    /// could not narrow the match and is refused rather than silently dropped.
    ScopeId,
}

/// A listener address that did not parse; the message quotes the input (escaped with
/// [`escape_bytes`], so it is safe to print) and says what was expected.
///
/// ```
/// # use raindrops::{AddrErrorKind, ListenerAddr};
/// let err = "127.0.0.1".parse::<ListenerAddr>().unwrap_err();
/// assert_eq!(err.input(), "127.0.0.1");
/// assert_eq!(err.kind(), AddrErrorKind::MissingPort);
/// assert!(err.to_string().contains("\"127.0.0.1\""));
/// let err = "\x1b[2J:80".parse::<ListenerAddr>().unwrap_err();
/// assert!(err.to_string().starts_with("invalid listener address \"\\x1b[2J:80\""), "{err}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid listener address \"{}\": {} (expected IPv4:PORT, [IPv6]:PORT or an absolute \
     Unix socket path; host names are not resolved)",
    escape_bytes(input),
    describe(*kind)
)]
pub struct AddrParseError {
    input: Vec<u8>,
    kind: AddrErrorKind,
}

fn describe(kind: AddrErrorKind) -> &'static str {
    match kind {
        AddrErrorKind::Empty => "empty address",
        AddrErrorKind::MissingPort => "missing \":PORT\"",
        AddrErrorKind::BadPort => "port must be a number from 0 to 65535",
        AddrErrorKind::BadHost => "host is not an IP address literal",
        AddrErrorKind::UnclosedBracket => "missing \"]\" after an IPv6 address",
        AddrErrorKind::ScopeId => {
            "a scope id (%IFACE) is not supported: listeners are matched by address and port on \
             every interface; drop the %IFACE part"
        }
    }
}

impl AddrParseError {
    /// The input that failed to parse: unchanged when it is UTF-8, else escaped
    /// ([`escape_bytes`]).
    pub fn input(&self) -> Cow<'_, str> {
        match std::str::from_utf8(&self.input) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => escape_bytes(&self.input),
        }
    }

    /// The input that failed to parse, as given.
    pub fn input_bytes(&self) -> &[u8] {
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
        let err = |kind| AddrParseError { input: input.as_bytes().to_vec(), kind };
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
            // A scope id (`%eth0`, `%2`) is refused: sockets are matched by address and port.
            if host.contains('%') {
                return Err(err(AddrErrorKind::ScopeId));
            }
            let ip = Ipv6Addr::from_str(host).map_err(|_| err(AddrErrorKind::BadHost))?;
            return Ok(ListenerAddr::Tcp(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0))));
        }
        let (host, port) = input.rsplit_once(':').ok_or(err(AddrErrorKind::MissingPort))?;
        let ip = Ipv4Addr::from_str(host).map_err(|_| err(AddrErrorKind::BadHost))?;
        let port = parse_port(port)?;
        Ok(ListenerAddr::Tcp(SocketAddr::V4(SocketAddrV4::new(ip, port))))
    }
}

impl From<&ListenerAddr> for ListenerName {
    /// A TCP address as `IP:PORT` / `[IPv6]:PORT`, a Unix path as its bytes.
    fn from(addr: &ListenerAddr) -> Self {
        match addr {
            ListenerAddr::Tcp(sa) => ListenerName::from(sa.to_string()),
            ListenerAddr::Unix(path) => ListenerName::from(path.as_path()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names() {
        let tcp: ListenerAddr = "[::1]:80".parse().unwrap();
        assert_eq!(ListenerName::from(&tcp), "[::1]:80");
        let unix = ListenerAddr::Unix(PathBuf::from(std::ffi::OsStr::from_bytes(b"/\xde")));
        let name = ListenerName::from(&unix);
        assert_eq!(name.as_bytes(), b"/\xde");
    }

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
        assert_eq!(ok("[fe80::1]:80"), "[fe80::1]:80");
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
        // A scope id is refused, not silently dropped (it was dropped before issue 14).
        assert_eq!(kind("[fe80::1%eth0]:80"), AddrErrorKind::ScopeId);
        assert_eq!(kind("[::1%1]:80"), AddrErrorKind::ScopeId);
        let msg = "[::1%eth0]:80".parse::<ListenerAddr>().unwrap_err().to_string();
        assert!(msg.contains("\"[::1%eth0]:80\"") && msg.contains("scope id"), "{msg}");
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
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            match ListenerAddr::from_bytes(&bytes) {
                // A path keeps its exact bytes, and its name spells them losslessly.
                Ok(addr @ ListenerAddr::Unix(_)) => {
                    let name = addr.name();
                    prop_assert_eq!(name.as_bytes(), &bytes[..]);
                    let unescaped = crate::unescape_bytes(&name.escaped()).unwrap();
                    prop_assert_eq!(ListenerAddr::from_bytes(&unescaped).unwrap(), addr);
                }
                Ok(addr @ ListenerAddr::Tcp(_)) => {
                    prop_assert_eq!(addr.to_string().parse::<ListenerAddr>().unwrap(), addr);
                }
                Err(e) => prop_assert_eq!(e.input_bytes(), &bytes[..]),
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
