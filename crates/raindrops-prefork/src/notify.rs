//! [`notify`]: systemd's readiness protocol (`sd_notify`), one datagram to `NOTIFY_SOCKET`.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Sends `state` (for example `"READY=1"` or `"STOPPING=1"`) to the service manager's
/// `NOTIFY_SOCKET`: a path, or an abstract name written with a leading `@`. Returns `false`
/// when the variable is unset (not started by systemd, or `Type=` is not `notify`).
///
/// # Errors
///
/// When the variable names neither an absolute path nor an `@` name, or the datagram cannot
/// be sent.
///
/// ```no_run
/// // In a server started by a `Type=notify` systemd unit, once it accepts connections:
/// if !raindrops_prefork::notify("READY=1")? {
///     tracing::info!("not under systemd");
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else { return Ok(false) };
    let bytes = socket.as_encoded_bytes();
    let addr = match bytes.first() {
        Some(b'@') => SocketAddr::from_abstract_name(&bytes[1..])?,
        Some(b'/') => SocketAddr::from_pathname(&socket)?,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("NOTIFY_SOCKET={socket:?} is neither an absolute path nor an @name"),
            ));
        }
    };
    let sent = UnixDatagram::unbound()?.send_to_addr(state.as_bytes(), &addr)?;
    if sent != state.len() {
        return Err(io::Error::other(format!(
            "NOTIFY_SOCKET took {sent} of {} bytes",
            state.len()
        )));
    }
    Ok(true)
}
