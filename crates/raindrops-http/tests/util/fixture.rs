//! The Watcher's listener fixture: a TCP listener with 3 accepted + 2 queued connections and a
//! Unix listener, at a hostile path, with 1 + 4.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use raindrops::ListenerAddr;
use raindrops_http::exposition::ListenerSample;
use raindrops_http::listeners::KernelListeners;
use raindrops_http::listeners::Listeners;
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
    super::settle(addr, raindrops::ListenStats { active: 3, queued: 2 });

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

/// Samples the Watcher may take: its clock, in the test's hands. Each sample of a
/// [`Fixture::gated_watcher`] waits for one.
#[derive(Clone, Default)]
pub(crate) struct Gate(Arc<(Mutex<u64>, Condvar)>);

impl Gate {
    /// Lets `n` more samples through.
    pub(crate) fn allow(&self, n: u64) {
        let (permits, changed) = &*self.0;
        *permits.lock().unwrap() += n;
        changed.notify_all();
    }
}

/// The fixture's real kernel numbers, read only when the gate lets a sample through.
struct Gated(KernelListeners, Gate);

impl Listeners for Gated {
    fn sample(&self) -> std::io::Result<Vec<ListenerSample>> {
        let (permits, changed) = &*(self.1).0;
        let mut left = changed.wait_while(permits.lock().unwrap(), |left| *left == 0).unwrap();
        *left -= 1;
        drop(left);
        self.0.sample()
    }
}

impl Fixture {
    fn listeners(&self) -> KernelListeners {
        let addrs = vec![ListenerAddr::Tcp(self.tcp), ListenerAddr::Unix(self.unix.clone())];
        KernelListeners::addrs(addrs).unwrap()
    }

    pub(crate) fn watcher(&self, delay: Duration) -> Watcher {
        Watcher::new(self.listeners(), delay).unwrap()
    }

    /// A Watcher that samples only as `gate` allows (its first sample, taken at start,
    /// included).
    pub(crate) fn gated_watcher(&self, gate: &Gate) -> Watcher {
        let listeners = Gated(self.listeners(), gate.clone());
        Watcher::new(listeners, Duration::from_millis(10)).unwrap()
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

/// Serves `watcher` on 127.0.0.1:0 in the background, as `raindrops watch` does; returns its
/// address.
pub(crate) async fn serve(watcher: &Watcher) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = watcher.router();
    let server = raindrops_http::server::Server::new(Default::default());
    tokio::spawn(async move { server.serve(listener, |_| app.clone()).await });
    addr
}
