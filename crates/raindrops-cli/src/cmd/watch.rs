//! `raindrops watch`: serve the Watcher on loopback.

use anyhow::Context;
use raindrops::{ListenerAddr, ListenerName};
use raindrops_http::listeners::KernelListeners;
use raindrops_http::server::{ConnectionPolicy, Server};
use raindrops_http::watcher::Watcher;

use crate::cli::WatchArgs;
use crate::exit::{Code, UsageError};

impl super::Run for WatchArgs {
    fn run(&self) -> anyhow::Result<Code> {
        let addrs = self
            .addrs
            .iter()
            .map(|addr| ListenerAddr::from_os_str(addr).map_err(|err| UsageError(err.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        // The ADDRs as the listeners report them: tracked whatever the cap, never forgotten.
        let keep: Vec<ListenerName> = addrs.iter().map(ListenerAddr::name).collect();
        let listeners = if addrs.is_empty() {
            KernelListeners::all(self.unix)
        } else {
            KernelListeners::addrs(addrs)
        }
        .context("cannot read listener stats")?;
        let listeners = if self.no_wait { listeners.without_waits() } else { listeners };
        raindrops_prefork::log::init();
        let policy =
            ConnectionPolicy { max_streams: self.max_streams, ..self.connections.policy() };
        let watcher = Watcher::builder(listeners, self.delay)
            .max_addresses(self.max_addresses.get())
            .forget_after(self.forget_after)
            .keep(keep)
            .streams(policy.stream_slots())
            .start()
            .context("cannot start the sampler")?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(self.listen)
                .await
                .with_context(|| format!("cannot listen on {}", self.listen))?;
            let local = listener.local_addr().context("listener address")?;
            eprintln!("raindrops watch: serving http://{local}/");
            let app = watcher.router();
            tokio::select! {
                () = Server::new(policy).serve(listener, |_| app.clone()) => Ok(Code::Success),
                _ = tokio::signal::ctrl_c() => Ok(Code::Interrupted),
            }
        })
    }
}
