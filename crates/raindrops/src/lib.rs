//! Real-time stats for preforking and multi-threaded Linux servers.
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

// --- listener stats (listen branch) ---
pub mod listen;
#[allow(unsafe_code)]
mod sys;
pub mod tcp_info;

pub use listen::{
    AddrErrorKind, AddrParseError, InetDiag, ListenError, ListenStats, ListenerAddr, LocalQueue,
    UnixSource, local_queue,
};
pub use tcp_info::TcpInfo;
// --- end listener stats ---
