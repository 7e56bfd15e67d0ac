//! Unix stream listeners: `unix_diag` over `NETLINK_SOCK_DIAG`, or `/proc/net/unix`.
//!
//! # The rule
//!
//! For a listener path `P`:
//!
//! - **queued** = the listener's receive-queue length (`UDIAG_SHOW_RQLEN`): connections that
//!   wait for `accept()`. In `/proc/net/unix` those are the nameless-inode `SS_CONNECTING`
//!   (`02`) sockets bound to `P` (the server-side halves not yet accepted).
//! - **active** = the connected (`ESTABLISHED`, `SS_CONNECTED` = `03`) sockets bound to `P`:
//!   the server-side halves of accepted connections. The kernel keeps such a socket connected
//!   after the client closes, until the server closes it too; we report what the kernel says.
//!
//! Datagram sockets are ignored. Paths are compared byte for byte after resolving symlinks
//! in the *requested* path (`fs::canonicalize`); the requested spelling also matches as is.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::netlink::{Reader, attributes, finish_request, start_request};
use super::{ListenError, ListenStats};

const AF_UNIX: u8 = libc::AF_UNIX as u8;
const SOCK_DGRAM: u8 = libc::SOCK_DGRAM as u8;
const UDIAG_SHOW_NAME: u32 = 0x01;
const UDIAG_SHOW_RQLEN: u32 = 0x10;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_RQLEN: u16 = 4;
/// `struct unix_diag_msg`: family, type, state, pad, ino, cookie[2].
const UNIX_DIAG_MSG_LEN: usize = 16;
const TCP_ESTABLISHED: u8 = 1;
const TCP_LISTEN: u8 = 10;
/// `__SO_ACCEPTCON` in `/proc/net/unix`'s flags column: a listening socket.
const SO_ACCEPTCON: u32 = 1 << 16;
const SS_CONNECTING: u8 = 2;
const SS_CONNECTED: u8 = 3;

/// Where Unix socket stats come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnixSource {
    /// `unix_diag`, falling back to `/proc/net/unix` (for good) when the kernel has no
    /// `unix_diag` handler.
    #[default]
    Auto,
    /// `unix_diag` only: an error when it is unavailable.
    Netlink,
    /// `/proc/net/unix` only (slower: the kernel formats every Unix socket as text).
    ProcNetUnix,
}

/// One socket, from either source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnixSock<'a> {
    /// A listener and its accept-queue length.
    Listener { path: &'a [u8], queued: u32 },
    /// A connection accepted from the listener bound to `path`.
    Accepted { path: &'a [u8] },
    /// A connection still in `path`'s accept queue (only `/proc/net/unix` shows these).
    Embryo { path: &'a [u8] },
}

/// Encodes the `unix_diag_req` dump of listening and connected sockets with names and queues.
pub(crate) fn encode_request(buf: &mut Vec<u8>, seq: u32) {
    start_request(buf, seq);
    buf.extend_from_slice(&[AF_UNIX, 0, 0, 0]); // family, protocol, pad
    let states: u32 = 1 << TCP_LISTEN | 1 << TCP_ESTABLISHED;
    buf.extend_from_slice(&states.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // udiag_ino: any
    buf.extend_from_slice(&(UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN).to_ne_bytes());
    buf.extend_from_slice(&[0xff; 8]); // cookie: INET_DIAG_NOCOOKIE, i.e. "any"
    finish_request(buf);
}

/// Decodes one `unix_diag_msg` with its attributes; `Ok(None)` for sockets the rule ignores.
pub(crate) fn parse_msg(payload: &[u8]) -> Result<Option<UnixSock<'_>>, ListenError> {
    let r = Reader(payload);
    let (Some(kind), Some(state), Some(ino), Some(attrs)) =
        (r.u8(1), r.u8(2), r.u32_ne(4), payload.get(UNIX_DIAG_MSG_LEN..))
    else {
        return Err(ListenError::Malformed { what: "unix_diag_msg shorter than 16 bytes" });
    };
    if kind == SOCK_DGRAM {
        return Ok(None);
    }
    let mut name = None;
    let mut rqueue = 0;
    for (t, value) in attributes(attrs) {
        match t {
            UNIX_DIAG_NAME => name = Some(value),
            UNIX_DIAG_RQLEN => rqueue = Reader(value).u32_ne(0).unwrap_or(0),
            _ => {}
        }
    }
    let Some(path) = name.map(trim_name).filter(|p| !p.is_empty()) else { return Ok(None) };
    Ok(match state {
        TCP_LISTEN => Some(UnixSock::Listener { path, queued: rqueue }),
        TCP_ESTABLISHED if ino != 0 => Some(UnixSock::Accepted { path }),
        _ => None,
    })
}

/// A filesystem name ends at its NUL; an abstract name starts with one and is kept whole.
fn trim_name(name: &[u8]) -> &[u8] {
    if name.first() == Some(&0) {
        return name;
    }
    name.iter().position(|&b| b == 0).map_or(name, |end| &name[..end])
}

/// Parses one line of `/proc/net/unix` (`net/unix/af_unix.c`, `unix_seq_show`):
///
/// ```text
/// Num       RefCount Protocol Flags    Type St Inode Path
/// 0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/app.sock
/// ```
///
/// `None` for the header, sockets without a path, datagram sockets and malformed lines.
pub(crate) fn parse_proc_line(line: &[u8]) -> Option<UnixSock<'_>> {
    let mut rest = line.strip_suffix(b"\n").unwrap_or(line);
    let mut field = || {
        let start = rest.iter().position(|&b| b != b' ')?;
        rest = &rest[start..];
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let (tok, tail) = rest.split_at(end);
        rest = tail;
        Some(tok)
    };
    let num = field()?;
    let (_refcount, _protocol) = (field()?, field()?);
    let flags = hex(field()?)?;
    let kind = hex(field()?)?;
    let state = hex(field()?)?;
    let _inode = field()?;
    if !num.ends_with(b":") {
        return None;
    }
    let path = rest.strip_prefix(b" ").filter(|p| !p.is_empty())?;
    // Abstract names are printed with '@' for the leading NUL.
    if kind == u32::from(SOCK_DGRAM) {
        return None;
    }
    if flags & SO_ACCEPTCON != 0 {
        return Some(UnixSock::Listener { path, queued: 0 });
    }
    match u8::try_from(state).ok()? {
        SS_CONNECTING => Some(UnixSock::Embryo { path }),
        SS_CONNECTED => Some(UnixSock::Accepted { path }),
        _ => None,
    }
}

fn hex(tok: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(tok).ok()?, 16).ok()
}

/// Applies the rule for a fixed list of paths.
#[derive(Debug)]
pub(crate) struct Wanted {
    by_name: HashMap<Vec<u8>, Vec<usize>>,
    pub(crate) stats: Vec<ListenStats>,
}

impl Wanted {
    pub(crate) fn new<P: AsRef<Path>>(paths: &[P]) -> Self {
        let mut by_name: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        for (i, p) in paths.iter().enumerate() {
            let p = p.as_ref();
            let given = p.as_os_str().as_bytes().to_vec();
            // Symlinks resolved: a path given through a link matches the socket's own path.
            if let Ok(real) = std::fs::canonicalize(p) {
                let real = real.into_os_string().into_vec();
                if real != given {
                    by_name.entry(real).or_default().push(i);
                }
            }
            by_name.entry(given).or_default().push(i);
        }
        Wanted { by_name, stats: vec![ListenStats::default(); paths.len()] }
    }

    pub(crate) fn add(&mut self, sock: &UnixSock<'_>) {
        let path = match sock {
            UnixSock::Listener { path, .. }
            | UnixSock::Accepted { path }
            | UnixSock::Embryo { path } => path,
        };
        let Some(idxs) = self.by_name.get(*path) else { return };
        for &i in idxs {
            add(&mut self.stats[i], sock);
        }
    }
}

fn add(stats: &mut ListenStats, sock: &UnixSock<'_>) {
    match sock {
        UnixSock::Listener { queued, .. } => stats.queued = stats.queued.saturating_add(*queued),
        UnixSock::Accepted { .. } => stats.active = stats.active.saturating_add(1),
        UnixSock::Embryo { .. } => stats.queued = stats.queued.saturating_add(1),
    }
}

/// Applies the rule to every named listener seen.
#[derive(Debug, Default)]
pub(crate) struct All {
    listeners: BTreeMap<Vec<u8>, ListenStats>,
    others: Vec<(Vec<u8>, ListenStats)>,
}

impl All {
    pub(crate) fn add(&mut self, sock: &UnixSock<'_>) {
        match sock {
            UnixSock::Listener { path, .. } => {
                add(self.listeners.entry(path.to_vec()).or_default(), sock);
            }
            UnixSock::Accepted { path } | UnixSock::Embryo { path } => {
                let mut one = ListenStats::default();
                add(&mut one, sock);
                self.others.push((path.to_vec(), one));
            }
        }
    }

    pub(crate) fn finish(mut self) -> Vec<(PathBuf, ListenStats)> {
        for (path, one) in &self.others {
            if let Some(stats) = self.listeners.get_mut(path) {
                stats.active = stats.active.saturating_add(one.active);
                stats.queued = stats.queued.saturating_add(one.queued);
            }
        }
        self.listeners.into_iter().map(|(name, stats)| (display_name(&name), stats)).collect()
    }
}

/// Abstract names (leading NUL) are shown with `@`, as `/proc/net/unix` and `ss` do.
fn display_name(name: &[u8]) -> PathBuf {
    match name.split_first() {
        Some((0, rest)) => {
            let mut v = b"@".to_vec();
            v.extend(rest.iter().map(|&b| if b == 0 { b'@' } else { b }));
            PathBuf::from(OsStr::from_bytes(&v))
        }
        _ => PathBuf::from(OsStr::from_bytes(name)),
    }
}

/// Reads and applies `/proc/net/unix` to `visit`.
pub(crate) fn read_proc(visit: &mut dyn FnMut(&UnixSock<'_>)) -> Result<(), ListenError> {
    const PATH: &str = "/proc/net/unix";
    let text = std::fs::read(PATH).map_err(|source| ListenError::Procfs { path: PATH, source })?;
    for line in text.split(|&b| b == b'\n') {
        if let Some(sock) = parse_proc_line(line) {
            visit(&sock);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn proc_lines() {
        let l = b"0000000000000000: 00000002 00000000 00010000 0001 01 28592 /tmp/p.sock";
        assert_eq!(
            parse_proc_line(l),
            Some(UnixSock::Listener { path: b"/tmp/p.sock", queued: 0 })
        );
        let l = b"0000000086bb57e5: 00000003 00000000 00000000 0001 02     0 /tmp/p.sock\n";
        assert_eq!(parse_proc_line(l), Some(UnixSock::Embryo { path: b"/tmp/p.sock" }));
        let l = b"000000007dc2785a: 00000003 00000000 00000000 0001 03 28598 /tmp/with space";
        assert_eq!(parse_proc_line(l), Some(UnixSock::Accepted { path: b"/tmp/with space" }));
        let header = b"Num       RefCount Protocol Flags    Type St Inode Path";
        assert_eq!(parse_proc_line(header), None);
        let unnamed = b"000000007dc2785a: 00000003 00000000 00000000 0001 03 28598";
        assert_eq!(parse_proc_line(unnamed), None);
        let dgram = b"000000007dc2785a: 00000003 00000000 00000000 0002 01 28598 /dev/log";
        assert_eq!(parse_proc_line(dgram), None);
    }

    #[test]
    fn names() {
        assert_eq!(trim_name(b"/a\0"), b"/a");
        assert_eq!(trim_name(b"\0abs"), b"\0abs");
        assert_eq!(display_name(b"\0abs"), PathBuf::from("@abs"));
    }

    proptest! {
        #[test]
        fn proc_parser_never_panics(line in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_proc_line(&line);
        }

        #[test]
        fn proc_parser_never_panics_on_near_lines(
            st in "[0-9A-Fa-f ]{0,4}", flags in "[0-9A-F]{0,9}", path in ".{0,20}",
        ) {
            let line = format!("00000000: 00000002 00000000 {flags} 0001 {st} 123 {path}");
            let _ = parse_proc_line(line.as_bytes());
        }

        #[test]
        fn unix_msg_parser_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..128)) {
            let mut all = All::default();
            if let Ok(Some(sock)) = parse_msg(&payload) {
                all.add(&sock);
            }
            let _ = all.finish();
        }
    }
}
