//! Builders of `NETLINK_SOCK_DIAG` reply bytes, laid out as the kernel writes them, for the
//! parsers' tests (`inet_diag.rs`, `queue_wait_tests.rs`). Test-only.

use std::net::{IpAddr, SocketAddr};

use super::netlink::{NLA_HDRLEN, NLMSG_ERROR, SOCK_DIAG_BY_FAMILY, align4};

/// `struct inet_diag_msg` without attributes.
const INET_DIAG_MSG_LEN: usize = 72;

/// One netlink message of type `kind` and sequence number `seq`, padded to 4 bytes.
pub(crate) fn message(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&2u16.to_ne_bytes()); // NLM_F_MULTI
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(align4(out.len()), 0);
    out
}

/// The kernel's `NLMSG_ERROR` for the request `seq`: `struct nlmsgerr`, the negative `errno`
/// then the request's header.
pub(crate) fn error(seq: u32, errno: i32) -> Vec<u8> {
    let mut payload = errno.saturating_neg().to_ne_bytes().to_vec();
    payload.extend_from_slice(&message(SOCK_DIAG_BY_FAMILY, seq, &[])[..16]);
    message(NLMSG_ERROR, seq, &payload)
}

/// A datagram of `SOCK_DIAG_BY_FAMILY` messages with sequence number 1.
pub(crate) fn datagram(payloads: &[Vec<u8>]) -> Vec<u8> {
    payloads.iter().flat_map(|p| message(SOCK_DIAG_BY_FAMILY, 1, p)).collect()
}

/// An `inet_diag_msg` payload: `local`, `state`, `inode`, then the attributes.
pub(crate) fn msg(local: SocketAddr, state: u8, inode: u32, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut p = vec![0; INET_DIAG_MSG_LEN];
    p[0] = if local.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 } as u8;
    p[1] = state;
    p[4..6].copy_from_slice(&local.port().to_be_bytes());
    match local.ip() {
        IpAddr::V4(ip) => p[8..12].copy_from_slice(&ip.octets()),
        IpAddr::V6(ip) => p[8..24].copy_from_slice(&ip.octets()),
    }
    p[68..72].copy_from_slice(&inode.to_ne_bytes());
    for (kind, value) in attrs {
        p.extend_from_slice(&((NLA_HDRLEN + value.len()) as u16).to_ne_bytes());
        p.extend_from_slice(&kind.to_ne_bytes());
        p.extend_from_slice(value);
        p.resize(align4(p.len()), 0);
    }
    p
}

/// A `struct tcp_info` of `len` bytes of noise with `tcpi_last_data_sent` = `age`.
pub(crate) fn tcp_info_with_age(age: u32, len: usize) -> Vec<u8> {
    let mut info = vec![0xa5; len];
    info[44..48].copy_from_slice(&age.to_ne_bytes());
    info
}
