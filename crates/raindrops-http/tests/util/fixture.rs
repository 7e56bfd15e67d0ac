//! The Watcher's listener fixture: a TCP listener with 3 accepted + 2 queued connections and a
//! Unix listener, at a hostile path, with 1 + 4.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

use raindrops::ListenerAddr;
use raindrops_http::kernel::KernelListeners;
use raindrops_http::watcher::Watcher;

/// The listeners and connections of the fixture; dropping it closes everything.
pub(crate) struct Fixture {
    pub(crate) tcp: SocketAddr,
    pub(crate) unix: PathBuf,
    _dir: tempfile::TempDir,
    _held: (TcpListener, UnixListener, Vec<TcpStream>, Vec<UnixStream>),
}

pub(crate) fn fixture() -> Fixture {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap();
    let mut tcp_conns: Vec<_> = (0..5).map(|_| TcpStream::connect(addr).unwrap()).collect();
    tcp_conns.extend((0..3).map(|_| tcp.accept().unwrap().0));

    // A path an attacker could choose: markup and both quotes.
    let dir = tempfile::tempdir().unwrap();
    let hostile = dir.path().join("<script>alert('x')");
    std::fs::create_dir(&hostile).unwrap();
    let path = hostile.join("\"q\".sock");
    let unix = UnixListener::bind(&path).unwrap();
    let mut unix_conns: Vec<_> = (0..5).map(|_| UnixStream::connect(&path).unwrap()).collect();
    unix_conns.push(unix.accept().unwrap().0);
    Fixture { tcp: addr, unix: path, _dir: dir, _held: (tcp, unix, tcp_conns, unix_conns) }
}

impl Fixture {
    pub(crate) fn watcher(&self, delay: Duration) -> Watcher {
        let addrs = vec![ListenerAddr::Tcp(self.tcp), ListenerAddr::Unix(self.unix.clone())];
        Watcher::new(KernelListeners::addrs(addrs).unwrap(), delay).unwrap()
    }

    /// `ADDR` of both listeners as they appear in URLs.
    pub(crate) fn escaped(&self) -> (String, String) {
        let unix = self.unix.display().to_string();
        let mut e = String::new();
        for b in unix.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                e.push(b as char);
            } else {
                e.push_str(&format!("%{b:02X}"));
            }
        }
        (format!("127.0.0.1%3A{}", self.tcp.port()), e)
    }
}

/// Serves `watcher` on 127.0.0.1:0 in the background; returns its address.
pub(crate) async fn serve(watcher: &Watcher) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = watcher.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}
