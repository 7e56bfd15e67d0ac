//! `raindrops serve`: the demo app on the prefork supervisor, with the middleware and the
//! counting accept wrapper wired in, so `/_raindrops` on any worker shows every worker's sum.

mod demo;

use std::io;

use anyhow::Context;
use raindrops::{ListenerAddr, Workers};
use raindrops_http::accept::{ConnectionCounts, CountingListener, OwnedListeners, Peer};
use raindrops_http::middleware::{HttpStats, RaindropsLayer};
use raindrops_prefork::{Listener, Prefork, PreforkError, WorkerContext};

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
        let mut builder = Prefork::builder().workers(self.workers.into()).timeout(self.timeout);
        for addr in addrs {
            builder = builder.listen(addr);
        }
        if let Some(log) = &self.log {
            builder = builder.log_file(log);
        }
        let prefork = builder.build().map_err(|err| match err {
            PreforkError::Config(text) => anyhow::Error::new(UsageError(text)),
            other => anyhow::Error::new(other),
        })?;
        // One row per possible worker, made before fork: every worker counts in its own.
        let rows = prefork.rows();
        let http = Workers::<HttpStats>::new(rows).context("cannot map the stats rows")?;
        let counts = ConnectionCounts::new(rows, prefork.listeners().len())
            .context("cannot map the connection counts")?;
        for listener in prefork.listeners() {
            let addr = listener.addr().context("listener address")?;
            match addr {
                ListenerAddr::Tcp(_) => eprintln!("raindrops serve: listening on http://{addr}/"),
                ListenerAddr::Unix(_) => eprintln!("raindrops serve: listening on {addr}"),
            }
        }
        let (retire_http, retire_counts) = (http.clone(), counts.clone());
        let prefork = prefork.on_worker_exit(move |row| {
            retire_http.retire(row);
            retire_counts.retire(row);
        });
        prefork.run(move |ctx| worker(ctx, http.clone(), counts.clone()))?;
        Ok(Code::Success)
    }
}

/// One worker: the demo app behind the middleware, on every listener, until SIGQUIT.
async fn worker(
    ctx: WorkerContext,
    http: Workers<HttpStats>,
    counts: ConnectionCounts,
) -> io::Result<()> {
    let row = ctx.row();
    http.set_pid(row, std::process::id());
    let mut owned = OwnedListeners::new(counts.clone());
    for listener in ctx.listeners() {
        owned = match listener {
            Listener::Tcp(l) => owned.tcp(l)?,
            Listener::Unix(l) => owned.unix(l)?,
        };
    }
    let layer = RaindropsLayer::for_worker(http, row).listeners(owned).metrics_path("/metrics");
    let app = demo::router().layer(layer);
    let mut servers = tokio::task::JoinSet::new();
    for (column, listener) in ctx.listeners().iter().enumerate() {
        let counter = counts.counter(row, column);
        let service = app.clone().into_make_service_with_connect_info::<Peer>();
        let shutdown = ctx.shutdown();
        match listener {
            Listener::Tcp(l) => {
                let l = tokio::net::TcpListener::from_std(l.try_clone()?)?;
                let served = axum::serve(CountingListener::new(l, counter), service);
                servers.spawn(served.with_graceful_shutdown(shutdown).into_future());
            }
            Listener::Unix(l) => {
                let l = tokio::net::UnixListener::from_std(l.try_clone()?)?;
                let served = axum::serve(CountingListener::new(l, counter), service);
                servers.spawn(served.with_graceful_shutdown(shutdown).into_future());
            }
        }
    }
    while let Some(done) = servers.join_next().await {
        done.map_err(io::Error::other)??;
    }
    Ok(())
}
