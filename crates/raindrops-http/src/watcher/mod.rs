/*!
The Watcher: a web app that samples listeners on its own thread and shows their numbers,
histograms, peaks and a live tail. Ruby raindrops' `Raindrops::Watcher`, plus JSON and
OpenMetrics.

Routes (every `ADDR` percent-encoded from the listener's exact bytes, e.g. `127.0.0.1%3A8080`,
`%2Frun%2Fapp.sock`, or `%2Ftmp%2F%DE%AD%BE%EF` for a Unix socket whose name is not UTF-8):

| route | what |
|---|---|
| `GET /?window=1m\|10m\|1h&sort=KEY&q=TEXT` | HTML index as a dashboard: a row per listener, the busiest first (queued, then active), sparklines and peaks over the window, a mark on a non-empty queue, a filter; updates itself in place (inline script reading `/index.json`), or refreshes without scripts |
| `GET /index.json` | the index's rows as data (same query; gzipped, as the index, when the client accepts it) |
| `GET /active/ADDR.txt`, `/queued/ADDR.txt` | the histogram since the last reset (the `aggregate` gem's text) with `X-Count`, `X-Min`, ... headers |
| `GET /active/ADDR.html`, `/queued/ADDR.html` | the same as a page |
| `GET /active/ADDR.json`, `/queued/ADDR.json` | the same as JSON |
| `GET /wait/ADDR.txt`, `.html`, `.json` | the same for the oldest queued connection's wait in ms, as sampled (0 when none waited; see [`raindrops::QueueWait`]); `X-Current` is the latest; nothing is recorded for Unix listeners |
| `POST /reset/ADDR` | forgets that address's aggregates and peaks; 302 back to the Referer's path if it is a page of this host, else to `/` |
| `GET /tail/ADDR.txt?active_min=N&queued_min=N` | one line per sample reaching the minimums, streamed |
| `GET /tail/ADDR.json?active_min=N&queued_min=N` | the same as one JSON object per line (`application/x-ndjson`) |
| `GET /chart/ADDR.html?window=1m\|10m\|1h` | SVG charts of active, queued and the oldest queued connection's wait in ms (TCP only) over the history held (at most an hour) or the window, values on hover, units on the axes; the histograms as bars beside the gem's text (no script, no external assets) |
| `GET /chart/ADDR.json` | the same history as data: `columns` `["time", "active", "queued", "oldest_wait_ms"]`, a point per sample; the wait is 0 when nothing waited and `null` when the sample measured no ages (every sample of a Unix listener) |
| `GET /metrics` | OpenMetrics: current numbers, peaks and histograms of every address |

In JSON, an address that is not UTF-8 is escaped ([`raindrops::escape_bytes`]) and flagged
`"address_escaped": true`; see [`insert_json_name`](crate::exposition::insert_json_name).
Tail lines in text are escaped the same way (always, so a name cannot forge lines).

HEAD works wherever GET does; other methods get 405 and unknown paths 404. A valid address
that is not watched answers an empty histogram and stores nothing, so requests for arbitrary
addresses cannot grow memory.

Memory stays bounded when listeners come and go, too (a whole host watched while a local user
opens and closes listeners by the thousand): at most 4,096 addresses are tracked, those gone
from the samples longest making room first, and a listener gone for 60 s is forgotten, unless
it was asked for with [`WatcherBuilder::keep`]; see [`Watcher::builder`].

```no_run
use std::time::Duration;
use raindrops_http::exposition::ListenerSample;
use raindrops_http::listeners::Listeners;
use raindrops_http::server::{ConnectionPolicy, Server};
use raindrops_http::watcher::Watcher;

struct Fixed;
impl Listeners for Fixed {
    fn sample(&self) -> std::io::Result<Vec<ListenerSample>> {
        Ok(vec![ListenerSample { addr: "127.0.0.1:8080".into(), active: 1, queued: 0, wait: None }])
    }
}

# #[tokio::main]
# async fn main() -> std::io::Result<()> {
let policy = ConnectionPolicy::default();
let app = Watcher::builder(Fixed, Duration::from_secs(1))
    .streams(policy.stream_slots())
    .start()?
    .router();
let listener = tokio::net::TcpListener::bind("127.0.0.1:9292").await?;
Server::new(policy).serve(listener, |_| app.clone()).await;
# Ok(())
# }
```
*/

mod addr_state;
mod app;
mod builder;
mod chart;
mod chart_page;
mod index;
mod page_cache;
mod pages;
mod redirect;
mod rollup;
mod state;
mod tracked;
mod url;
mod window;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use crate::listeners::Listeners;
pub use app::Watcher;
pub use builder::WatcherBuilder;

impl Watcher {
    /// Starts sampling `listeners` every `delay` on a thread of its own (the first sample is
    /// taken before this returns), with the default limits of [`Watcher::builder`].
    ///
    /// # Errors
    ///
    /// When the sampler thread cannot be started.
    ///
    /// ```no_run
    /// # use raindrops_http::{exposition::ListenerSample, listeners::Listeners};
    /// # struct Fixed;
    /// # impl Listeners for Fixed {
    /// #     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> { Ok(vec![]) }
    /// # }
    /// let _watcher = raindrops_http::watcher::Watcher::new(Fixed, std::time::Duration::from_secs(1))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(listeners: impl Listeners, delay: Duration) -> std::io::Result<Self> {
        Self::builder(listeners, delay).start()
    }

    /// A Watcher of `listeners` sampled every `delay`, to configure before it starts: how many
    /// addresses it tracks and how long it remembers a listener that is gone.
    ///
    /// ```no_run
    /// # use raindrops_http::{exposition::ListenerSample, listeners::Listeners};
    /// # struct Host;
    /// # impl Listeners for Host {
    /// #     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> { Ok(vec![]) }
    /// # }
    /// let delay = std::time::Duration::from_secs(1);
    /// let _watcher = raindrops_http::watcher::Watcher::builder(Host, delay)
    ///     .max_addresses(1024)
    ///     .start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder(listeners: impl Listeners, delay: Duration) -> WatcherBuilder {
        WatcherBuilder::new(Arc::new(listeners), delay)
    }

    /// The app's routes, to serve with [`Server::serve`](crate::server::Server::serve) or
    /// nest in another router.
    ///
    /// ```no_run
    /// # use raindrops_http::{exposition::ListenerSample, listeners::Listeners};
    /// # struct Fixed;
    /// # impl Listeners for Fixed {
    /// #     fn sample(&self) -> std::io::Result<Vec<ListenerSample>> { Ok(vec![]) }
    /// # }
    /// let watcher = raindrops_http::watcher::Watcher::new(Fixed, std::time::Duration::from_secs(1))?;
    /// let _app: axum::Router = watcher.router();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(index::index))
            .route("/index.json", get(index::index_json))
            .route("/active/{*file}", get(pages::active))
            .route("/queued/{*file}", get(pages::queued))
            .route("/wait/{*file}", get(pages::wait))
            .route("/tail/{*file}", get(pages::tail))
            .route("/chart/{*file}", get(chart_page::chart))
            .route("/reset/{*addr}", post(pages::reset))
            .route("/metrics", get(pages::metrics))
            .fallback(pages::not_found)
            .with_state(self.clone())
    }
}
