//! Netlink framing shared by `inet_diag` and `unix_diag`: the request header and a
//! bounds-checked walk over a reply datagram.
//!
//! Layouts are from `include/uapi/linux/netlink.h`; everything is native-endian except where
//! the diag structs say `__be`. Every read goes through [`Reader`], which returns `None` past
//! the end, so no reply bytes can cause a panic.

use super::ListenError;

/// `struct nlmsghdr`: u32 len, u16 type, u16 flags, u32 seq, u32 pid.
pub(crate) const NLMSG_HDRLEN: usize = 16;
/// `struct nlattr`: u16 len, u16 type.
pub(crate) const NLA_HDRLEN: usize = 4;
pub(crate) const NLMSG_NOOP: u16 = 1;
pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
pub(crate) const NLMSG_OVERRUN: u16 = 4;
/// `SOCK_DIAG_BY_FAMILY` from `linux/sock_diag.h`: both the request and the reply type.
pub(crate) const SOCK_DIAG_BY_FAMILY: u16 = 20;
pub(crate) const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_ROOT | NLM_F_MATCH`.
pub(crate) const NLM_F_DUMP: u16 = 0x300;

/// Rounds up to the 4-byte netlink alignment (`NLMSG_ALIGN`, `NLA_ALIGN`).
pub(crate) const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends a dump request header; the caller appends the payload and then calls
/// [`finish_request`] to fill in the length.
pub(crate) fn start_request(buf: &mut Vec<u8>, seq: u32) {
    buf.clear();
    push_header(buf, seq, NLM_F_REQUEST | NLM_F_DUMP);
}

/// Appends the header of one more non-dump (exact) request to `buf`, which may hold others
/// already (the kernel answers each message of a datagram in turn); returns where it starts,
/// for [`finish_message`].
pub(crate) fn start_exact(buf: &mut Vec<u8>, seq: u32) -> usize {
    let at = buf.len();
    push_header(buf, seq, NLM_F_REQUEST);
    at
}

fn push_header(buf: &mut Vec<u8>, seq: u32, flags: u16) {
    buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, patched by finish_message
    buf.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel fills in ours
}

/// Writes the final length into the header started by [`start_request`].
pub(crate) fn finish_request(buf: &mut [u8]) {
    finish_message(buf, 0);
}

/// Writes the length of the message started at `at` (by [`start_exact`]), which runs to the
/// end of `buf`.
pub(crate) fn finish_message(buf: &mut [u8], at: usize) {
    let len = u32::try_from(buf.len().saturating_sub(at)).unwrap_or(u32::MAX);
    if let Some(dst) = buf.get_mut(at..at.saturating_add(4)) {
        dst.copy_from_slice(&len.to_ne_bytes());
    }
}

/// A bounds-checked cursor-free reader over a byte slice.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn bytes(self, at: usize, len: usize) -> Option<&'a [u8]> {
        self.0.get(at..at.checked_add(len)?)
    }

    pub(crate) fn u8(self, at: usize) -> Option<u8> {
        self.0.get(at).copied()
    }

    pub(crate) fn u16_ne(self, at: usize) -> Option<u16> {
        Some(u16::from_ne_bytes(self.bytes(at, 2)?.try_into().ok()?))
    }

    pub(crate) fn u16_be(self, at: usize) -> Option<u16> {
        Some(u16::from_be_bytes(self.bytes(at, 2)?.try_into().ok()?))
    }

    pub(crate) fn u32_ne(self, at: usize) -> Option<u32> {
        Some(u32::from_ne_bytes(self.bytes(at, 4)?.try_into().ok()?))
    }

    pub(crate) fn array<const N: usize>(self, at: usize) -> Option<[u8; N]> {
        self.bytes(at, N)?.try_into().ok()
    }
}

/// One message of a reply datagram.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Message<'a> {
    pub(crate) kind: u16,
    pub(crate) seq: u32,
    pub(crate) payload: &'a [u8],
}

/// What a reply datagram said, after its messages were handed to the visitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// More datagrams follow.
    More,
    /// `NLMSG_DONE` (or the error-free ack) for our sequence number arrived.
    Done,
}

/// Walks the messages of one datagram, calling `visit` with each `SOCK_DIAG_BY_FAMILY`
/// payload whose sequence number is `seq` (others are leftovers of an abandoned dump).
///
/// An `NLMSG_ERROR` with a non-zero error for our `seq` becomes [`ListenError::Kernel`];
/// `what` names the request for that message.
pub(crate) fn walk<'a>(
    datagram: &'a [u8],
    seq: u32,
    what: &'static str,
    mut visit: impl FnMut(&'a [u8]) -> Result<(), ListenError>,
) -> Result<Progress, ListenError> {
    for msg in messages(datagram) {
        let msg = msg?;
        if msg.seq != seq {
            continue;
        }
        match msg.kind {
            SOCK_DIAG_BY_FAMILY => visit(msg.payload)?,
            NLMSG_DONE => return Ok(Progress::Done),
            NLMSG_ERROR => match errno(msg.payload)? {
                0 => return Ok(Progress::Done),
                errno => return Err(kernel_error(what, errno)),
            },
            NLMSG_NOOP | NLMSG_OVERRUN => {}
            _ => {}
        }
    }
    Ok(Progress::More)
}

/// The kernel's answer to one exact (non-dump) request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer<'a> {
    /// The socket: a `SOCK_DIAG_BY_FAMILY` payload.
    Found(&'a [u8]),
    /// An `NLMSG_ERROR` with this (positive) errno: `ENOENT` when no such socket exists.
    Error(i32),
}

/// Calls `visit(seq, answer)` for each answer in one reply datagram to exact requests, in
/// order. Acks (`NLMSG_ERROR` with errno 0, which we never ask for) and other message types
/// are skipped; sequence numbers are the caller's to match.
pub(crate) fn answers<'a>(
    datagram: &'a [u8],
    mut visit: impl FnMut(u32, Answer<'a>) -> Result<(), ListenError>,
) -> Result<(), ListenError> {
    for msg in messages(datagram) {
        let msg = msg?;
        match msg.kind {
            SOCK_DIAG_BY_FAMILY => visit(msg.seq, Answer::Found(msg.payload))?,
            NLMSG_ERROR => match errno(msg.payload)? {
                0 => {}
                errno => visit(msg.seq, Answer::Error(errno))?,
            },
            _ => {}
        }
    }
    Ok(())
}

/// `what` failed with `errno` (positive).
pub(crate) fn kernel_error(what: &'static str, errno: i32) -> ListenError {
    ListenError::Kernel { request: what, source: std::io::Error::from_raw_os_error(errno) }
}

/// The positive errno of an `NLMSG_ERROR` payload (`struct nlmsgerr` starts with the
/// negative errno as an `int`); 0 for an ack.
fn errno(payload: &[u8]) -> Result<i32, ListenError> {
    Reader(payload)
        .u32_ne(0)
        .map(|e| (e as i32).saturating_neg())
        .ok_or(ListenError::Malformed { what: "short netlink error message" })
}

/// The messages of one datagram, in order; the first malformed one ends it with an error.
fn messages(datagram: &[u8]) -> impl Iterator<Item = Result<Message<'_>, ListenError>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= datagram.len() {
            return None;
        }
        let msg = message(datagram, at);
        let len = Reader(datagram).u32_ne(at).unwrap_or(0) as usize;
        // After an error, stop: nothing past a broken header can be trusted.
        at = if msg.is_ok() { at.saturating_add(align4(len)) } else { datagram.len() };
        Some(msg)
    })
}

fn message(datagram: &[u8], at: usize) -> Result<Message<'_>, ListenError> {
    let r = Reader(datagram);
    let malformed = ListenError::Malformed { what: "truncated netlink message header" };
    let len = r.u32_ne(at).ok_or(malformed)? as usize;
    let kind = r.u16_ne(at + 4).ok_or(ListenError::Malformed { what: "netlink header" })?;
    let seq = r.u32_ne(at + 8).ok_or(ListenError::Malformed { what: "netlink header" })?;
    if len < NLMSG_HDRLEN {
        return Err(ListenError::Malformed { what: "netlink message shorter than its header" });
    }
    let payload = r
        .bytes(at + NLMSG_HDRLEN, len - NLMSG_HDRLEN)
        .ok_or(ListenError::Malformed { what: "netlink message longer than its datagram" })?;
    Ok(Message { kind, seq, payload })
}

/// Iterates the `(type, value)` pairs of a run of netlink attributes; stops (without error)
/// at the first attribute that does not fit, since attributes are optional extras.
pub(crate) fn attributes(mut rest: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let r = Reader(rest);
        let len = r.u16_ne(0)? as usize;
        let kind = r.u16_ne(2)?;
        if len < NLA_HDRLEN {
            return None;
        }
        let value = r.bytes(NLA_HDRLEN, len - NLA_HDRLEN)?;
        rest = rest.get(align4(len)..).unwrap_or(&[]);
        // NLA_F_NESTED and NLA_F_NET_BYTEORDER live in the top two bits.
        Some((kind & 0x3fff, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn walk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), seq in 0u32..3) {
            let _ = walk(&bytes, seq, "test", |payload| {
                let _ = attributes(payload).count();
                Ok(())
            });
        }
    }

    #[test]
    fn error_message_becomes_kernel_error() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&36u32.to_ne_bytes());
        buf.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        buf.extend_from_slice(&0u16.to_ne_bytes());
        buf.extend_from_slice(&7u32.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&(-libc::ENOENT).to_ne_bytes());
        buf.extend_from_slice(&[0; 16]);
        let err = walk(&buf, 7, "TCP over IPv4", |_| Ok(())).unwrap_err();
        assert!(matches!(err, ListenError::Kernel { .. }), "{err:?}");
        // Another sequence number is a leftover: ignored.
        assert_eq!(walk(&buf, 8, "x", |_| Ok(())).unwrap(), Progress::More);
    }
}
