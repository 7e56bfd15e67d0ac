//! Thin system-call wrappers: the only place (with `segment/map.rs`) where `unsafe` may appear.
//!
//! Everything here is `pub(crate)` and returns `io::Result`. Each backend file is named after
//! the kernel facility it wraps:
//!
//! - `flock.rs`: an exclusive, non-blocking `flock` (segment files owned by one process tree).
//! - `netlink.rs`: an `AF_NETLINK` socket (`NETLINK_SOCK_DIAG`), `send` and `recv` (blocking or
//!   not) of raw bytes.
//! - `sockopt.rs`: `getsockopt(TCP_INFO)` into a byte buffer (the struct grows with the kernel),
//!   and `TCP_DEFER_ACCEPT`.
//!
//! On other platforms `unsupported.rs` provides the same items, each returning
//! `io::ErrorKind::Unsupported`, so the public API compiles and fails with a typed error.

/// Calls `libc::$fn(args..)` and turns a `-1` return into `io::Error::last_os_error()`.
///
/// The caller writes a `// SAFETY:` comment naming the obligations of the particular call
/// (valid fd, pointer and length of a live buffer, ...); the macro only adds the error check.
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: the obligations of `libc::$fn` are discharged by the caller, whose own
        // `// SAFETY:` comment at the call site names them.
        let res = unsafe { libc::$fn($($arg),*) };
        if res == -1 { Err(std::io::Error::last_os_error()) } else { Ok(res) }
    }};
}

pub(crate) mod flock;
#[cfg(target_os = "linux")]
pub(crate) mod netlink;
#[cfg(target_os = "linux")]
pub(crate) mod sockopt;

#[cfg(not(target_os = "linux"))]
#[path = "unsupported.rs"]
pub(crate) mod netlink;
#[cfg(not(target_os = "linux"))]
#[path = "unsupported.rs"]
pub(crate) mod sockopt;
