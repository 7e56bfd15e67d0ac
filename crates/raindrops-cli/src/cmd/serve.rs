//! `raindrops serve`: the demo app on the prefork supervisor, with the middleware and the
//! counting accept wrapper wired in, so `/_raindrops` on any worker shows every worker's sum,
//! and worker recycling (the killer) when a limit is given.

mod demo;
mod recycling;

use std::io;
use std::path::Path;

use anyhow::Context;
use axum::Extension;
use axum::extract::ConnectInfo;
use raindrops::{ListenerAddr, Previous, SegmentErrorKind, Workers};
use raindrops_http::listeners::{ConnectionCounts, CountingListener, OwnedListeners, Peer};
use raindrops_http::middleware::{HttpStats, RaindropsLayer};
use raindrops_http::server::{ConnectionPolicy, SETTLE, Server};
use raindrops_prefork::{Listener, Prefork, PreforkError, WorkerContext};
use tokio::net::{TcpListener, UnixListener};
use tower::Layer;

use self::recycling::Recycling;
use crate::cli::ServeArgs;
use crate::exit::{Code, UsageError};

/// Where `serve` listens when given no `--listen` and no socket-activated listener.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl super::Run for ServeArgs {
    fn run(&self) -> anyhow::Result<Code> {
        let mut addrs = self
            .listen
            .iter()
            .map(|addr| {
                addr.parse::<ListenerAddr>()
                    .map_err(|err| UsageError(format!("--listen {addr:?}: {err}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if addrs.is_empty() && std::env::var_os("LISTEN_FDS").is_none() {
            addrs.push(DEFAULT_LISTEN.parse().context("the default address")?);
        }
        let mut builder = Prefork::builder()
            .workers(self.workers.into())
            .timeout(self.timeout)
            .max_restarting(self.max_restarting.into());
        for addr in addrs {
            builder = builder.listen(addr);
        }
        if let Some(log) = &self.log {
            builder = builder.log_file(log);
        }
        let prefork = builder.build().map_err(|err| match err {
            PreforkError::Config(kind) => anyhow::Error::new(UsageError(kind.to_string())),
            other => anyhow::Error::new(other),
        })?;
        // One row per possible worker, made before fork: every worker counts in its own.
        let rows = prefork.rows();
        let http = match &self.segment {
            Some(path) => claim_segment(path, rows, self.segment_reset)?,
            None => Workers::<HttpStats>::new(rows).context("cannot map the stats rows")?,
        };
        let counts = ConnectionCounts::new(rows, prefork.listeners().len())
            .context("cannot map the connection counts")?;
        for listener in prefork.listeners() {
            let addr = listener.addr().context("listener address")?;
            match addr {
                ListenerAddr::Tcp(_) => eprintln!("raindrops serve: listening on http://{addr}/"),
                ListenerAddr::Unix(_) => {
                    eprintln!("raindrops serve: listening on {}", addr.name());
                }
            }
        }
        let recycling = Recycling::new(self).context("cannot map the recycle counters")?;
        let (retire_http, retire_counts) = (http.clone(), counts.clone());
        let prefork = prefork.on_worker_exit(move |row| {
            retire_http.retire(row);
            retire_counts.retire(row);
        });
        let prefork = recycling.watch_workers(prefork);
        let policy = self.connections.policy();
        let shared = Shared { http, counts, recycling, policy };
        prefork.run(move |ctx| worker(ctx, shared.clone()))?;
        Ok(Code::Success)
    }
}

/// The `--segment` file for this master and its workers: a previous run's counters kept
/// (unless `reset`), a foreign file or one another live process holds refused.
fn claim_segment(path: &Path, rows: usize, reset: bool) -> anyhow::Result<Workers<HttpStats>> {
    let previous = if reset { Previous::Reset } else { Previous::Keep };
    Workers::<HttpStats>::claim(path, rows, previous).map_err(|err| {
        let hint = match err.kind() {
            SegmentErrorKind::SchemaMismatch { .. } => " (--segment-reset replaces it)",
            _ => "",
        };
        anyhow::Error::new(err).context(format!("--segment{hint}"))
    })
}

/// What every worker gets, made in the master before fork.
#[derive(Debug, Clone)]
struct Shared {
    http: Workers<HttpStats>,
    counts: ConnectionCounts,
    recycling: Recycling,
    policy: ConnectionPolicy,
}

/// One worker: the demo app behind the killer (if any limit is set) and the middleware, on
/// every listener, until SIGQUIT; then it drains.
async fn worker(ctx: WorkerContext, shared: Shared) -> io::Result<()> {
    let Shared { http, counts, recycling, policy } = shared;
    let row = ctx.row();
    http.set_pid(row, std::process::id());
    // A heartbeat in the row, for readers of a file-backed segment (`raindrops top`); the
    // master has its own for liveness.
    let beating = http.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            every.tick().await;
            beating.beat(row);
        }
    });
    let mut owned = OwnedListeners::new(counts.clone());
    for listener in ctx.listeners() {
        owned = match listener {
            Listener::Tcp(l) => owned.tcp(l)?,
            Listener::Unix(l) => owned.unix(l)?,
        };
    }
    let layer = RaindropsLayer::for_worker(http, row)
        .listeners(owned)
        .metrics_path("/metrics")
        .counters(recycling.counters());
    let mut app = demo::router();
    if let Some(killer) = recycling.layer(&ctx).map_err(io::Error::other)? {
        app = app.layer(killer);
    }
    let app = app.layer(layer);
    // Stop accepting on SIGQUIT (the other workers, sharing the sockets, take new
    // connections) and drain, failing no request; one connection cap for all listeners.
    let (drain, draining) = tokio::sync::watch::channel(false);
    let server = Server::new(policy).graceful(draining, SETTLE);
    let mut servers = tokio::task::JoinSet::new();
    for (column, listener) in ctx.listeners().iter().enumerate() {
        let counter = counts.counter(row, column);
        let (app, server) = (app.clone(), server.clone());
        // The peer in each request's extensions, where the middleware looks for it.
        let with_peer = move |peer: Peer| Extension(ConnectInfo(peer)).layer(app.clone());
        match listener {
            Listener::Tcp(l) => {
                let l = CountingListener::new(TcpListener::from_std(l.try_clone()?)?, counter);
                servers
                    .spawn(async move { server.serve(l, |addr| with_peer(Peer::Tcp(addr))).await });
            }
            Listener::Unix(l) => {
                let l = CountingListener::new(UnixListener::from_std(l.try_clone()?)?, counter);
                servers.spawn(async move { server.serve(l, |_| with_peer(Peer::Unix)).await });
            }
        }
    }
    ctx.shutdown().await;
    drain.send_replace(true);
    while let Some(done) = servers.join_next().await {
        done.map_err(io::Error::other)?;
    }
    Ok(())
}
