//! `raindrops serve`: the demo app on the prefork supervisor, with the stats wired in by
//! [`PreforkStats`] (the middleware and the counting listeners), so `/_raindrops` on any
//! worker shows every worker's sum, and worker recycling (the killer) when a limit is given.

mod demo;
mod recycling;

use std::io;
use std::path::Path;

use anyhow::Context;
use raindrops::{ListenerAddr, Previous, SegmentErrorKind, Workers};
use raindrops_http::middleware::HttpStats;
use raindrops_http::server::ConnectionPolicy;
use raindrops_killer::prefork::PreforkStats;
use raindrops_prefork::{Prefork, PreforkError, WorkerContext};

use self::recycling::Recycling;
use crate::cli::ServeArgs;
use crate::exit::{Code, UsageError};

/// Where `serve` listens when given no `--listen` and no socket-activated listener.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl super::Run for ServeArgs {
    fn run(&self) -> anyhow::Result<Code> {
        // The supervisor's, the killer's and the server's events, on stderr; set before fork,
        // so the workers inherit it.
        raindrops_prefork::log::init();
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
        let (rows, listeners) = (prefork.rows(), prefork.listeners().len());
        let stats = match &self.segment {
            Some(path) => {
                let http = claim_segment(path, rows, self.segment_reset)?;
                PreforkStats::with_http(http, listeners)
            }
            None => PreforkStats::new(rows, listeners),
        }
        .context("cannot map the stats rows")?;
        for listener in prefork.listeners() {
            let addr = listener.addr().context("listener address")?;
            match addr {
                ListenerAddr::Tcp(_) => eprintln!("raindrops serve: listening on http://{addr}/"),
                ListenerAddr::Unix(_) => {
                    eprintln!("raindrops serve: listening on {}", addr.name());
                }
            }
        }
        let recycling = Recycling::new(self, stats.recycles().clone());
        let prefork = recycling.watch_workers(stats.watch(prefork));
        let policy = self.connections.policy();
        prefork.run(move |ctx| worker(ctx, stats.clone(), recycling.clone(), policy))?;
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

/// One worker: the demo app behind the killer (if any limit is set) and the middleware, on
/// every listener, until SIGQUIT; then it drains, failing no request.
async fn worker(
    ctx: WorkerContext,
    stats: PreforkStats,
    recycling: Recycling,
    policy: ConnectionPolicy,
) -> io::Result<()> {
    let mut app = demo::router();
    if let Some(limits) = recycling.policy() {
        app = app.layer(stats.killer(&ctx, limits).map_err(io::Error::other)?);
    }
    stats.serve(&ctx, policy, app.layer(stats.layer(&ctx)?)).await
}
