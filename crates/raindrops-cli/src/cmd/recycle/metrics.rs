//! `recycle --metrics-listen ADDR`: the workers `recycle` follows, in OpenMetrics, served
//! through [`Server`] (the connection policy of `watch`) and written by the shared
//! [`Exposition`] writer with the families table's `raindrops_recycle_*` families.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use raindrops::memory::MemoryMetric;
use raindrops_http::exposition::families::{
    RECYCLE_RECYCLING, RECYCLE_RECYCLING_MAX, RECYCLE_SIGNALS, RECYCLE_WORKER_AGE_SECONDS,
    RECYCLE_WORKER_LIMIT_BYTES, RECYCLE_WORKER_MEMORY_BYTES, RECYCLE_WORKER_STATE, RECYCLES,
};
use raindrops_http::exposition::writer::{Dialect, Exposition, Labels};
use raindrops_http::server::{ConnectionPolicy, Server};

use super::fleet::{Fleet, State};

/// The counters kept across reads and the last text written, shared with the server.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    recycles: BTreeMap<&'static str, u64>,
    signals: BTreeMap<&'static str, u64>,
    /// The most workers recycling at once so far.
    most_recycling: usize,
    text: Arc<Mutex<String>>,
}

impl Metrics {
    /// Binds `addr` and serves `/metrics` under `policy` on a thread of its own; prints the
    /// bound address (`metrics on http://ADDR/metrics`) on stderr, so port 0 can be used.
    /// An address other than loopback is logged as a warning.
    pub(crate) fn serve(addr: SocketAddr, policy: ConnectionPolicy) -> anyhow::Result<Metrics> {
        if !addr.ip().is_loopback() {
            tracing::warn!(
                %addr,
                "recycle: --metrics-listen {addr} is not a loopback address: anyone who can reach it reads the metrics (the endpoint has no authentication)"
            );
        }
        let metrics = Metrics::default();
        let text = Arc::clone(&metrics.text);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .with_context(|| format!("--metrics-listen {addr}: cannot listen"))?;
        let local = listener.local_addr().context("--metrics-listen: listener address")?;
        eprintln!("raindrops recycle: metrics on http://{local}/metrics");
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let body = text.lock().unwrap_or_else(PoisonError::into_inner).clone();
                async move {
                    let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
                    ([(axum::http::header::CONTENT_TYPE, kind)], body)
                }
            }),
        );
        std::thread::Builder::new()
            .name("recycle-metrics".into())
            .spawn(move || {
                let server = Server::new(policy);
                runtime.block_on(server.serve(listener, |_| app.clone()));
            })
            .context("cannot start the metrics thread")?;
        Ok(metrics)
    }

    /// Counts a recycle started for `reason` (a [`Cause`](super::fleet::Cause) label).
    pub(crate) fn recycled(&mut self, reason: &'static str) {
        *self.recycles.entry(reason).or_default() += 1;
    }

    /// Counts the escalation signals just sent.
    pub(crate) fn signalled(&mut self, sent: &[nix::sys::signal::Signal]) {
        for signal in sent {
            *self.signals.entry(signal.as_str()).or_default() += 1;
        }
    }

    /// Writes the fleet's state, the `recycling` workers (what `--max-restarting` bounds)
    /// and the counters for the next scrape. Each worker's memory is USS, PSS and RSS side by
    /// side when read from `smaps_rollup`, else `metric` alone.
    pub(crate) fn publish(&mut self, fleet: &Fleet, metric: MemoryMetric, recycling: usize) {
        self.most_recycling = self.most_recycling.max(recycling);
        let mut out = Exposition::new(Dialect::OpenMetrics);
        out.family(&RECYCLE_WORKER_MEMORY_BYTES);
        for (pid, w) in &fleet.workers {
            let pid = pid.to_string();
            let sizes = match w.sizes {
                Some(s) => [MemoryMetric::Uss, MemoryMetric::Pss, MemoryMetric::Rss]
                    .map(|m| (m.name(), s.get(m)))
                    .to_vec(),
                None => vec![(metric.name(), w.memory)],
            };
            for (name, bytes) in sizes {
                if let Some(bytes) = bytes {
                    out.sample(&Labels::new("pid", &pid).and("metric", name), bytes);
                }
            }
        }
        out.family(&RECYCLE_WORKER_LIMIT_BYTES);
        for (pid, w) in &fleet.workers {
            if let Some((limit_metric, limit)) = w.limits.memory {
                let labels = Labels::new("pid", &pid.to_string());
                out.sample(&labels.and("metric", limit_metric.name()), limit);
            }
        }
        out.family(&RECYCLE_WORKER_AGE_SECONDS);
        for (pid, w) in &fleet.workers {
            out.sample(&Labels::new("pid", &pid.to_string()), w.age.as_secs_f64());
        }
        out.family(&RECYCLE_WORKER_STATE);
        for (pid, w) in &fleet.workers {
            let labels = Labels::new("pid", &pid.to_string());
            for state in State::ALL {
                let value = u8::from(w.state() == state);
                out.sample(&labels.clone().and("state", state.name()), value);
            }
        }
        out.family(&RECYCLE_RECYCLING).sample(&Labels::none(), recycling);
        out.family(&RECYCLE_RECYCLING_MAX).sample(&Labels::none(), self.most_recycling);
        out.family(&RECYCLES);
        for (reason, count) in &self.recycles {
            out.sample(&Labels::new("reason", reason), count);
        }
        out.family(&RECYCLE_SIGNALS);
        for (signal, count) in &self.signals {
            out.sample(&Labels::new("signal", signal), count);
        }
        *self.text.lock().unwrap_or_else(PoisonError::into_inner) = out.finish();
    }
}
