//! [`TcpInfo`]: every field of the kernel's `struct tcp_info` (`include/uapi/linux/tcp.h`).
//!
//! The struct has grown with the kernel: the first 104 bytes (up to `tcpi_total_retrans`)
//! date from Linux 2.6; later fields were appended. We ask for a buffer larger than any kernel
//! knows, and decode whatever length the kernel reports: fields it did not fill are `None`.

use std::io;
use std::os::fd::AsFd;

/// Bytes we offer the kernel: more than the 280 of Linux 6.18's `struct tcp_info`.
const BUF_LEN: usize = 512;

trait Field: Sized {
    fn read(bytes: &[u8], at: usize) -> Option<Self>;
}

macro_rules! field_impl {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn read(bytes: &[u8], at: usize) -> Option<Self> {
                let end = at.checked_add(std::mem::size_of::<$t>())?;
                Some(<$t>::from_ne_bytes(bytes.get(at..end)?.try_into().ok()?))
            }
        }
    )*};
}
field_impl!(u8, u16, u32, u64);

macro_rules! tcp_info {
    (
        core { $( $(#[$cm:meta])* $cname:ident : $cty:ty = $coff:literal, )* }
        newer { $( $(#[$nm:meta])* $nname:ident : $nty:ty = $noff:literal, )* }
    ) => {
        /// The kernel's `struct tcp_info` for one TCP socket (`getsockopt(TCP_INFO)`).
        ///
        /// Field names drop the `tcpi_` prefix. Fields from the original 104-byte struct are
        /// plain values; fields added since are `Option`s, `None` when this kernel's struct
        /// is too short to hold them. Units follow the kernel: times in microseconds unless a
        /// field says milliseconds (`last_*`).
        ///
        /// # Example
        ///
        /// ```no_run
        /// use std::net::{TcpListener, TcpStream};
        /// use raindrops::TcpInfo;
        ///
        /// let listener = TcpListener::bind("127.0.0.1:0")?;
        /// let stream = TcpStream::connect(listener.local_addr()?)?;
        /// let info = TcpInfo::from_socket(&stream)?;
        /// println!("rtt {} us, cwnd {}", info.rtt, info.snd_cwnd);
        /// # Ok::<(), std::io::Error>(())
        /// ```
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct TcpInfo {
            /// How many bytes of the struct the kernel filled in.
            pub len: usize,
            $( $(#[$cm])* pub $cname: $cty, )*
            /// `tcpi_snd_wscale`: the send window scale (low 4 bits of byte 6).
            pub snd_wscale: u8,
            /// `tcpi_rcv_wscale`: the receive window scale (high 4 bits of byte 6).
            pub rcv_wscale: u8,
            /// `tcpi_delivery_rate_app_limited` (bit 0 of byte 7, Linux 4.9+).
            pub delivery_rate_app_limited: bool,
            /// `tcpi_fastopen_client_fail` (bits 1–2 of byte 7, Linux 5.5+).
            pub fastopen_client_fail: u8,
            $( $(#[$nm])* pub $nname: Option<$nty>, )*
        }

        impl TcpInfo {
            /// Decodes the bytes `getsockopt(TCP_INFO)` returned; a short buffer leaves the
            /// missing fields zero (original fields) or `None` (newer fields). Never panics.
            ///
            /// ```
            /// # use raindrops::TcpInfo;
            /// let mut bytes = vec![0u8; 104];
            /// bytes[0] = 10; // TCP_LISTEN
            /// bytes[24..28].copy_from_slice(&3u32.to_ne_bytes()); // unacked
            /// let info = TcpInfo::from_bytes(&bytes);
            /// assert_eq!((info.state, info.unacked), (10, 3));
            /// assert_eq!(info.pacing_rate, None);
            /// ```
            pub fn from_bytes(bytes: &[u8]) -> Self {
                let flags = u8::read(bytes, 6).unwrap_or(0);
                let bits = u8::read(bytes, 7).unwrap_or(0);
                TcpInfo {
                    len: bytes.len(),
                    $( $cname: <$cty>::read(bytes, $coff).unwrap_or(0), )*
                    snd_wscale: flags & 0x0f,
                    rcv_wscale: flags >> 4,
                    delivery_rate_app_limited: bits & 1 != 0,
                    fastopen_client_fail: (bits >> 1) & 3,
                    $( $nname: <$nty>::read(bytes, $noff), )*
                }
            }
        }
    };
}

tcp_info! {
    core {
        /// `tcpi_state`: the TCP state (`TCP_ESTABLISHED` = 1, ..., `TCP_LISTEN` = 10).
        state: u8 = 0,
        /// `tcpi_ca_state`: congestion-avoidance state (open, disorder, CWR, recovery, loss).
        ca_state: u8 = 1,
        /// `tcpi_retransmits`: retransmits of the current unacknowledged segment.
        retransmits: u8 = 2,
        /// `tcpi_probes`: zero-window probes sent without answer.
        probes: u8 = 3,
        /// `tcpi_backoff`: exponential backoff of the retransmit timer.
        backoff: u8 = 4,
        /// `tcpi_options`: negotiated options (`TCPI_OPT_TIMESTAMPS`, `_SACK`, `_WSCALE`, ...).
        options: u8 = 5,
        /// `tcpi_rto`: retransmit timeout, µs.
        rto: u32 = 8,
        /// `tcpi_ato`: delayed-ACK timeout, µs.
        ato: u32 = 12,
        /// `tcpi_snd_mss`: sender maximum segment size.
        snd_mss: u32 = 16,
        /// `tcpi_rcv_mss`: receiver maximum segment size (estimated).
        rcv_mss: u32 = 20,
        /// `tcpi_unacked`: unacknowledged segments; **on a listener, the accept-queue length**.
        unacked: u32 = 24,
        /// `tcpi_sacked`: SACKed segments; **on a listener, the backlog given to `listen()`**.
        sacked: u32 = 28,
        /// `tcpi_lost`: segments considered lost.
        lost: u32 = 32,
        /// `tcpi_retrans`: segments retransmitted and not yet acknowledged.
        retrans: u32 = 36,
        /// `tcpi_fackets`: forward-acknowledged segments (always 0 since Linux 4.15).
        fackets: u32 = 40,
        /// `tcpi_last_data_sent`: ms since the last data was sent.
        last_data_sent: u32 = 44,
        /// `tcpi_last_ack_sent`: ms since the last ACK was sent (not maintained by Linux: 0).
        last_ack_sent: u32 = 48,
        /// `tcpi_last_data_recv`: ms since the last data was received.
        last_data_recv: u32 = 52,
        /// `tcpi_last_ack_recv`: ms since the last ACK was received.
        last_ack_recv: u32 = 56,
        /// `tcpi_pmtu`: path MTU.
        pmtu: u32 = 60,
        /// `tcpi_rcv_ssthresh`: receive slow-start threshold (window clamp).
        rcv_ssthresh: u32 = 64,
        /// `tcpi_rtt`: smoothed round-trip time, µs.
        rtt: u32 = 68,
        /// `tcpi_rttvar`: round-trip time variance, µs.
        rttvar: u32 = 72,
        /// `tcpi_snd_ssthresh`: send slow-start threshold.
        snd_ssthresh: u32 = 76,
        /// `tcpi_snd_cwnd`: congestion window, segments.
        snd_cwnd: u32 = 80,
        /// `tcpi_advmss`: advertised MSS.
        advmss: u32 = 84,
        /// `tcpi_reordering`: reordering metric.
        reordering: u32 = 88,
        /// `tcpi_rcv_rtt`: receiver-side RTT estimate, µs.
        rcv_rtt: u32 = 92,
        /// `tcpi_rcv_space`: receive buffer space estimate.
        rcv_space: u32 = 96,
        /// `tcpi_total_retrans`: total retransmissions over the connection's life.
        total_retrans: u32 = 100,
    }
    newer {
        /// `tcpi_pacing_rate`: bytes/s (Linux 3.15+).
        pacing_rate: u64 = 104,
        /// `tcpi_max_pacing_rate`: bytes/s (Linux 3.15+).
        max_pacing_rate: u64 = 112,
        /// `tcpi_bytes_acked` (Linux 4.1+).
        bytes_acked: u64 = 120,
        /// `tcpi_bytes_received` (Linux 4.1+).
        bytes_received: u64 = 128,
        /// `tcpi_segs_out` (Linux 4.2+).
        segs_out: u32 = 136,
        /// `tcpi_segs_in` (Linux 4.2+).
        segs_in: u32 = 140,
        /// `tcpi_notsent_bytes` (Linux 4.6+).
        notsent_bytes: u32 = 144,
        /// `tcpi_min_rtt`, µs (Linux 4.6+).
        min_rtt: u32 = 148,
        /// `tcpi_data_segs_in` (Linux 4.6+).
        data_segs_in: u32 = 152,
        /// `tcpi_data_segs_out` (Linux 4.6+).
        data_segs_out: u32 = 156,
        /// `tcpi_delivery_rate`: bytes/s (Linux 4.9+).
        delivery_rate: u64 = 160,
        /// `tcpi_busy_time`: µs busy sending data (Linux 4.10+).
        busy_time: u64 = 168,
        /// `tcpi_rwnd_limited`: µs limited by the receive window (Linux 4.10+).
        rwnd_limited: u64 = 176,
        /// `tcpi_sndbuf_limited`: µs limited by the send buffer (Linux 4.10+).
        sndbuf_limited: u64 = 184,
        /// `tcpi_delivered` (Linux 4.18+).
        delivered: u32 = 192,
        /// `tcpi_delivered_ce` (Linux 4.18+).
        delivered_ce: u32 = 196,
        /// `tcpi_bytes_sent` (Linux 4.19+).
        bytes_sent: u64 = 200,
        /// `tcpi_bytes_retrans` (Linux 4.19+).
        bytes_retrans: u64 = 208,
        /// `tcpi_dsack_dups` (Linux 4.19+).
        dsack_dups: u32 = 216,
        /// `tcpi_reord_seen`: reordering events seen (Linux 4.19+).
        reord_seen: u32 = 220,
        /// `tcpi_rcv_ooopack`: out-of-order packets received (Linux 5.4+).
        rcv_ooopack: u32 = 224,
        /// `tcpi_snd_wnd`: the peer's advertised receive window (Linux 5.4+).
        snd_wnd: u32 = 228,
        /// `tcpi_rcv_wnd`: the local receive window (Linux 6.2+).
        rcv_wnd: u32 = 232,
        /// `tcpi_rehash`: PLB or timeout-triggered rehashes (Linux 6.2+).
        rehash: u32 = 236,
        /// `tcpi_total_rto`: RTO timeouts (Linux 6.7+).
        total_rto: u16 = 240,
        /// `tcpi_total_rto_recoveries` (Linux 6.7+).
        total_rto_recoveries: u16 = 242,
        /// `tcpi_total_rto_time`: ms in RTO recovery (Linux 6.7+).
        total_rto_time: u32 = 244,
        /// `tcpi_received_ce`: CE-marked packets received (AccECN, Linux 6.18+).
        received_ce: u32 = 248,
        /// `tcpi_delivered_e1_bytes` (AccECN, Linux 6.18+).
        delivered_e1_bytes: u32 = 252,
        /// `tcpi_delivered_e0_bytes` (AccECN, Linux 6.18+).
        delivered_e0_bytes: u32 = 256,
        /// `tcpi_delivered_ce_bytes` (AccECN, Linux 6.18+).
        delivered_ce_bytes: u32 = 260,
        /// `tcpi_received_e1_bytes` (AccECN, Linux 6.18+).
        received_e1_bytes: u32 = 264,
        /// `tcpi_received_e0_bytes` (AccECN, Linux 6.18+).
        received_e0_bytes: u32 = 268,
        /// `tcpi_received_ce_bytes` (AccECN, Linux 6.18+).
        received_ce_bytes: u32 = 272,
        /// `tcpi_accecn_fail_mode` (AccECN, Linux 6.18+).
        accecn_fail_mode: u16 = 276,
        /// `tcpi_accecn_opt_seen` (AccECN, Linux 6.18+).
        accecn_opt_seen: u16 = 278,
    }
}

impl TcpInfo {
    /// Reads `getsockopt(IPPROTO_TCP, TCP_INFO)` from any TCP socket.
    ///
    /// Fails with the OS error for a socket that is not TCP (`EOPNOTSUPP`/`ENOPROTOOPT`), and
    /// with `io::ErrorKind::Unsupported` off Linux.
    ///
    /// ```no_run
    /// # use raindrops::TcpInfo;
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let info = TcpInfo::from_socket(&listener)?;
    /// assert_eq!(info.state, 10); // TCP_LISTEN
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_socket(socket: &impl AsFd) -> io::Result<Self> {
        let mut buf = [0u8; BUF_LEN];
        let len = crate::sys::sockopt::tcp_info(socket.as_fd(), &mut buf)?;
        Ok(Self::from_bytes(&buf[..len]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn offsets_match_libc() {
        use std::mem::offset_of;
        let mut bytes = vec![0u8; std::mem::size_of::<libc::tcp_info>()];
        let put =
            |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        put(&mut bytes, offset_of!(libc::tcp_info, tcpi_total_retrans), 7);
        put(&mut bytes, offset_of!(libc::tcp_info, tcpi_rehash), 8);
        put(&mut bytes, offset_of!(libc::tcp_info, tcpi_received_ce_bytes), 9);
        put(&mut bytes, offset_of!(libc::tcp_info, tcpi_unacked), 10);
        let info = TcpInfo::from_bytes(&bytes);
        assert_eq!(info.total_retrans, 7);
        assert_eq!(info.rehash, Some(8));
        assert_eq!(info.received_ce_bytes, Some(9));
        assert_eq!(info.unacked, 10);
    }

    #[test]
    fn short_structs_are_tolerated() {
        for len in 0..BUF_LEN {
            let info = TcpInfo::from_bytes(&vec![1u8; len]);
            assert_eq!(info.len, len);
            assert_eq!(info.pacing_rate.is_some(), len >= 112);
            assert_eq!(info.accecn_opt_seen.is_some(), len >= 280);
        }
    }
}
