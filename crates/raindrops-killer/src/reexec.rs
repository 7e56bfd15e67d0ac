//! Recycling a single-process tokio server with no supervisor: it re-executes itself.
//!
//! On a trigger, [`Reexec::serve`]:
//!
//! 1. spawns the same executable with the same arguments, its listening sockets at
//!    descriptors 3, 4, ... (`LISTEN_FDS=n`, `LISTEN_PID=<the new pid>`, systemd's protocol)
//!    and the write end of a pipe (`RAINDROPS_READY_FD`);
//! 2. waits until the new process, serving the same sockets, writes a byte on that pipe;
//! 3. stops accepting (the kernel hands every queued and new connection to the new process,
//!    which shares the listening socket: same port, same socket);
//! 4. finishes the requests in flight and returns, so the caller can exit.
//!
//! Connections are served by a [`raindrops_http::server::Server`] under its
//! [`ConnectionPolicy`] (see [`Reexec::policy`]) and drained gracefully: each is
//! given [`settle`](Reexec::settle) to send a request already on its way (hyper would close
//! an idle connection at once on a graceful shutdown, failing that request), responses from
//! then on say `Connection: close`, and the connection closes once its response is out.
//!
//! If the new process fails to start or to signal readiness within
//! [`ready_timeout`](Reexec::ready_timeout), it is killed and the old process serves on.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use raindrops_killer::{KillerLayer, Policy, Recycler, Reexec};
//! use tower::{ServiceBuilder, service_fn};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (reexec, inherited) = Reexec::from_env()?;
//! let listener = match inherited.into_iter().next() {
//!     Some(listener) => listener, // from the previous generation
//!     None => std::net::TcpListener::bind("127.0.0.1:8080")?,
//! };
//! let recycler = Recycler::new(&Policy::new().max_requests(10_000..=12_000), reexec.clone())?;
//! let app = ServiceBuilder::new().layer(KillerLayer::new(recycler)).service(service_fn(
//!     |_: http::Request<hyper::body::Incoming>| async {
//!         Ok::<_, Infallible>(http::Response::new(String::from("hello\n")))
//!     },
//! ));
//! let served = reexec.serve(vec![listener], app).await?;
//! tracing::info!(successor = served.successor, "handed over");
//! Ok(())
//! }
//! ```

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use raindrops_http::server::{ConnectionPolicy, HttpBody, HttpService, SETTLE, Server};
use raindrops_prefork::Listener;
use raindrops_prefork::activation::{Inherited, LISTEN_FDS_START, spawn_with_fds};

use crate::recycler::{Adapter, Trigger};

/// The variable naming the descriptor on which a new process signals that it serves.
pub const READY_FD_VAR: &str = "RAINDROPS_READY_FD";

/// Whether this process took its inherited descriptors already.
static CLAIMED: AtomicBool = AtomicBool::new(false);

/// The re-exec [`Adapter`] and server loop; see the [module docs](self).
///
/// Clones share one trigger: give a clone to the [`Recycler`](crate::Recycler), call
/// [`serve`](Self::serve) on another.
#[derive(Debug, Clone)]
pub struct Reexec {
    shared: Arc<Shared>,
    settle: Duration,
    ready_timeout: Duration,
    drain_timeout: Duration,
    policy: ConnectionPolicy,
}

#[derive(Debug)]
struct Shared {
    trigger: watch::Sender<Option<Trigger>>,
    /// The pipe to the previous generation, written once this one serves.
    ready: Mutex<Option<OwnedFd>>,
}

/// How a [`Reexec::serve`] ended: handed over to a new process.
///
/// ```
/// let served = raindrops_killer::reexec::Served { successor: 42, drained: true };
/// assert!(served.drained);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    /// The new process's pid.
    pub successor: u32,
    /// Whether every request in flight finished before the drain timeout.
    pub drained: bool,
}

impl Reexec {
    /// Takes what the previous generation handed over, if anything: the listening sockets of
    /// `LISTEN_FDS` (when `LISTEN_PID` is this process) and the readiness pipe.
    ///
    /// # Errors
    ///
    /// When called twice, when `LISTEN_FDS` or `RAINDROPS_READY_FD` is not a number, or when
    /// a descriptor it names is closed or not a TCP socket.
    ///
    /// ```no_run
    /// let (_reexec, inherited) = raindrops_killer::Reexec::from_env()?;
    /// println!("{} listeners inherited", inherited.len());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_env() -> io::Result<(Reexec, Vec<std::net::TcpListener>)> {
        if CLAIMED.swap(true, Ordering::AcqRel) {
            return Err(io::Error::other("Reexec::from_env was already called in this process"));
        }
        let inherited = Inherited::take(&[READY_FD_VAR])
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err.to_string()))?;
        let (listeners, ready) = match inherited {
            Some(Inherited { listeners, mut named }) => (
                listeners.into_iter().map(tcp).collect::<io::Result<Vec<_>>>()?,
                named.pop().flatten(),
            ),
            None => (Vec::new(), None),
        };
        let reexec = Reexec {
            shared: Arc::new(Shared {
                trigger: watch::Sender::new(None),
                ready: Mutex::new(ready),
            }),
            settle: SETTLE,
            ready_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(30),
            policy: ConnectionPolicy::default(),
        };
        Ok((reexec, listeners))
    }

    /// The timeouts and caps of the connections served ([`ConnectionPolicy::default`] by
    /// default).
    ///
    /// ```no_run
    /// use raindrops_http::server::ConnectionPolicy;
    /// # let (reexec, _) = raindrops_killer::Reexec::from_env()?;
    /// let _reexec = reexec.policy(ConnectionPolicy { max_connections: 100, ..Default::default() });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn policy(mut self, policy: ConnectionPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long a connection accepted just before the hand-over may take to send its first
    /// request (1 s by default).
    ///
    /// ```no_run
    /// # let (reexec, _) = raindrops_killer::Reexec::from_env()?;
    /// let _reexec = reexec.settle(std::time::Duration::from_millis(500));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// How long the new process may take to serve (30 s by default).
    ///
    /// ```no_run
    /// # let (reexec, _) = raindrops_killer::Reexec::from_env()?;
    /// let _reexec = reexec.ready_timeout(std::time::Duration::from_secs(5));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// How long requests in flight may take to finish after the hand-over (30 s by default);
    /// connections still open then are closed.
    ///
    /// ```no_run
    /// # let (reexec, _) = raindrops_killer::Reexec::from_env()?;
    /// let _reexec = reexec.drain_timeout(std::time::Duration::from_secs(60));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Serves HTTP/1.1 with `app` on `listeners` until a trigger hands them over to a new
    /// process and the requests in flight are done; see the [module docs](self).
    ///
    /// # Errors
    ///
    /// When a listener cannot be registered with the runtime.
    pub async fn serve<S, B>(
        &self,
        listeners: Vec<std::net::TcpListener>,
        app: S,
    ) -> io::Result<Served>
    where
        S: HttpService<B>,
        B: HttpBody,
    {
        let listeners = listeners
            .into_iter()
            .map(|listener| {
                listener.set_nonblocking(true)?;
                TcpListener::from_std(listener)
            })
            .collect::<io::Result<Vec<_>>>()?;
        self.signal_ready();
        let mut trigger = self.shared.trigger.subscribe();
        let (drain, draining) = watch::channel(false);
        let server = Server::new(self.policy).graceful(draining, self.settle);
        let mut connections = JoinSet::new();
        let successor = loop {
            tokio::select! {
                accepted = accept(&listeners) => match accepted {
                    Ok((stream, _peer)) => {
                        if let Some(served) = server.connection(stream, app.clone()) {
                            connections.spawn(served);
                        }
                    }
                    Err(err) => {
                        // EMFILE and the like: let some connections finish, then retry.
                        tracing::warn!(%err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
                Ok(()) = trigger.changed() => {
                    let Some(trigger) = *trigger.borrow_and_update() else { continue };
                    match self.hand_over(&listeners, trigger).await {
                        Ok(pid) => break pid,
                        Err(err) => tracing::error!(pid = trigger.pid, %err, "re-exec failed; serving on"),
                    }
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        };
        // The new process shares the sockets: closing ours only stops this one accepting.
        drop(listeners);
        drain.send_replace(true);
        let drained = tokio::time::timeout(self.drain_timeout, async {
            while connections.join_next().await.is_some() {}
        })
        .await
        .is_ok();
        tracing::info!(successor, drained, "handed over");
        Ok(Served { successor, drained })
    }

    /// Tells the previous generation, if any, that this process serves.
    fn signal_ready(&self) {
        let ready = match self.shared.ready.lock() {
            Ok(mut ready) => ready.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(fd) = ready {
            if let Err(err) = std::fs::File::from(fd).write_all(b"R") {
                tracing::warn!(%err, "cannot tell the previous process that this one serves");
            }
        }
    }

    /// Starts the new process and waits until it serves; its pid.
    async fn hand_over(&self, listeners: &[TcpListener], trigger: Trigger) -> io::Result<u32> {
        let (ready_rx, ready_tx) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let mut fds: Vec<BorrowedFd<'_>> = listeners.iter().map(AsFd::as_fd).collect();
        fds.push(ready_tx.as_fd());
        let program = std::env::current_exe()?;
        let args: Vec<OsString> = std::env::args_os().collect();
        let mut child = spawn_with_fds(&program, args, successor_env(listeners.len()), &fds)?;
        drop(ready_tx); // only the child holds the write end now: EOF if it dies
        let pid = child.id();
        tracing::info!(
            pid = trigger.pid,
            successor = pid,
            reason = trigger.reason.label(),
            measured = trigger.reason.measured(),
            limit = trigger.reason.limit(),
            "re-executing: {}",
            trigger.reason
        );
        let ready = tokio::net::unix::pipe::Receiver::from_owned_fd(ready_rx)?;
        let read_one = async {
            let mut byte = [0u8];
            loop {
                ready.readable().await?;
                match ready.try_read(&mut byte) {
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                    read => return read,
                }
            }
        };
        let outcome = tokio::time::timeout(self.ready_timeout, read_one).await;
        match outcome {
            Ok(Ok(1)) => Ok(pid),
            failed => {
                // The new process is ours and useless: stop it, reap it, serve on.
                let _ = child.kill();
                let status = child.wait()?;
                let why = match failed {
                    Err(_) => format!("not ready within {:?}", self.ready_timeout),
                    Ok(Err(err)) => format!("readiness pipe: {err}"),
                    Ok(Ok(_)) => "exited before serving".to_owned(),
                };
                Err(io::Error::other(format!("new process {pid} {why} ({status})")))
            }
        }
    }
}

impl Adapter for Reexec {
    fn recycle(&self, trigger: &Trigger) {
        self.shared.trigger.send_replace(Some(*trigger));
    }
}

/// This process's environment for the new one: the inherited `LISTEN_*` variables replaced.
fn successor_env(listeners: usize) -> Vec<OsString> {
    let ours = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", READY_FD_VAR];
    let mut env: Vec<OsString> = std::env::vars_os()
        .filter(|(name, _)| !ours.iter().any(|ours| name == ours))
        .map(|(name, value)| {
            let mut var = name;
            var.push("=");
            var.push(value);
            var
        })
        .collect();
    env.push(format!("LISTEN_FDS={listeners}").into());
    env.push(format!("{READY_FD_VAR}={}", LISTEN_FDS_START as usize + listeners).into());
    env
}

/// An inherited listener, which must be TCP.
fn tcp(listener: Listener) -> io::Result<std::net::TcpListener> {
    match listener {
        Listener::Tcp(tcp) => Ok(tcp),
        Listener::Unix(unix) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("LISTEN_FDS: fd {} is not a TCP socket", unix.as_raw_fd()),
        )),
    }
}

/// The next connection on any of `listeners`.
async fn accept(listeners: &[TcpListener]) -> io::Result<(TcpStream, SocketAddr)> {
    std::future::poll_fn(|cx| {
        for listener in listeners {
            if let std::task::Poll::Ready(accepted) = listener.poll_accept(cx) {
                return std::task::Poll::Ready(accepted);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_replaces_inherited_variables() {
        let env = successor_env(2);
        let names: Vec<String> = env.iter().map(|v| v.to_string_lossy().into_owned()).collect();
        assert_eq!(names.iter().filter(|v| v.starts_with("LISTEN_FDS=")).count(), 1);
        assert!(names.contains(&"LISTEN_FDS=2".to_owned()));
        assert!(names.contains(&format!("{READY_FD_VAR}=5")));
        assert!(!names.iter().any(|v| v.starts_with("LISTEN_PID=")));
    }
}
