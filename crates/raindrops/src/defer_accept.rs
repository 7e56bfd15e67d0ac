//! `TCP_DEFER_ACCEPT`: a listener wakes `accept()` only once a connection has data (or the
//! timeout passed), so `tcpi_last_data_recv` of an accepted connection is the time it waited in
//! the accept queue. See `tcp(7)`.
//!
//! The kernel keeps the timeout as a number of SYN-ACK retransmits (1 s, then doubling up to
//! 120 s each), so it rounds a value up to the next sum of those periods: 2 s reads back as
//! 3 s, 60 s as 63 s. A connection that never sends is accepted (without data) when the last
//! of those retransmits is acknowledged.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! raindrops::set_defer_accept(&listener, Duration::from_secs(60))?;
//! assert_eq!(raindrops::defer_accept(&listener)?, Duration::from_secs(63));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

/// Sets `TCP_DEFER_ACCEPT` on a TCP socket to `timeout`, in whole seconds (rounded up, and
/// capped at `i32::MAX`); zero turns it off.
///
/// # Errors
///
/// The OS error for a socket that is not TCP, and `io::ErrorKind::Unsupported` off Linux.
///
/// ```no_run
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// raindrops::set_defer_accept(&listener, std::time::Duration::from_secs(2))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_defer_accept(socket: &impl AsFd, timeout: Duration) -> io::Result<()> {
    let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    let seconds = i32::try_from(seconds).unwrap_or(i32::MAX);
    crate::sys::sockopt::set_tcp_defer_accept(socket.as_fd(), seconds)
}

/// The `TCP_DEFER_ACCEPT` timeout of a TCP socket as the kernel rounded it up to a sum of
/// SYN-ACK retransmit periods (1 s, then doubling: 2 s reads back as 3 s, 60 s as 63 s); zero
/// when off.
///
/// # Errors
///
/// The OS error for a socket that is not TCP, and `io::ErrorKind::Unsupported` off Linux.
///
/// ```no_run
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// assert_eq!(raindrops::defer_accept(&listener)?, std::time::Duration::ZERO);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn defer_accept(socket: &impl AsFd) -> io::Result<Duration> {
    let seconds = crate::sys::sockopt::tcp_defer_accept(socket.as_fd())?;
    Ok(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::Duration;

    #[test]
    fn kernel_rounds_to_retransmit_periods() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(super::defer_accept(&listener).unwrap(), Duration::ZERO);
        for (set, read) in [(1, 1), (2, 3), (60, 63), (0, 0)] {
            super::set_defer_accept(&listener, Duration::from_secs(set)).unwrap();
            assert_eq!(super::defer_accept(&listener).unwrap(), Duration::from_secs(read), "{set}");
        }
        super::set_defer_accept(&listener, Duration::from_millis(1500)).unwrap();
        assert_eq!(super::defer_accept(&listener).unwrap(), Duration::from_secs(3));
    }

    #[test]
    fn not_tcp_is_an_error() {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(super::set_defer_accept(&udp, Duration::from_secs(1)).is_err());
    }
}
