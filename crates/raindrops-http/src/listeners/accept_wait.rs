/*!
How long an accepted connection waited in its listener's accept queue, read from the kernel
right after `accept`.

The field is `tcpi_last_data_sent`: the kernel stamps a connection's "last data sent" time
(`lsndtime`) when it creates the connection's socket — when the handshake's final ACK
completes it (with `TCP_DEFER_ACCEPT`, when the client's first data does) — and only sending
data moves it again. Nothing is sent on a connection before `accept` hands it to the server
(the kernel's pure ACKs of the client's request do not count), so right after `accept`,
`tcpi_last_data_sent` is the time the connection spent complete and waiting: its time in the
queue, whether or not the client has sent its request yet.
`tcpi_last_data_recv`/`tcpi_last_ack_recv` would not do: both move when the client's request
arrives, so they give only the time since the request (a lower bound of the wait).

Resolution: the kernel keeps these stamps in jiffies (`tcp_jiffies32`) and reports them in
milliseconds: 1 ms at `HZ=1000`, 4 ms at `HZ=250`. A wait is rounded down to that.

```
use std::io::Write;
use raindrops_http::listeners::accept_wait;

let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
client.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
let (stream, _) = listener.accept()?;
let waited = accept_wait::millis(&stream).expect("a TCP stream on Linux");
assert!(waited < 60_000);
# Ok::<(), std::io::Error>(())
```
*/

use std::os::fd::AsFd;

use raindrops::{Recorder, TcpInfo};

/// The milliseconds `stream`, just accepted, waited in the accept queue (see the
/// [module docs](self)); `None` when its `TCP_INFO` cannot be read (a Unix stream, or off
/// Linux). Called later in a connection's life it is the time since the server last sent data.
///
/// ```
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let (stream, _) = listener.accept()?;
/// assert!(raindrops_http::listeners::accept_wait::millis(&stream).is_some());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn millis(stream: &impl AsFd) -> Option<u32> {
    TcpInfo::from_socket(stream).ok().map(|info| from_info(&info))
}

/// The wait in `info`, read from a connection right after `accept`: its
/// `tcpi_last_data_sent` (see the [module docs](self)).
///
/// ```
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let (stream, _) = listener.accept()?;
/// let info = raindrops::TcpInfo::from_socket(&stream)?;
/// assert_eq!(raindrops_http::listeners::accept_wait::from_info(&info), info.last_data_sent);
/// # Ok::<(), std::io::Error>(())
/// ```
#[inline]
pub fn from_info(info: &TcpInfo) -> u32 {
    info.last_data_sent
}

/// Records [`millis`] of `stream` into `recorder`, if it can be read: one `getsockopt` and a
/// few relaxed atomic adds.
///
/// ```
/// let waits = raindrops::SharedAggregate::new(1)?;
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let (stream, _) = listener.accept()?;
/// raindrops_http::listeners::accept_wait::record(&waits.recorder(0), &stream);
/// assert_eq!(waits.snapshot().count, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline]
pub fn record(recorder: &Recorder, stream: &impl AsFd) {
    if let Some(ms) = millis(stream) {
        recorder.record(i64::from(ms));
    }
}
