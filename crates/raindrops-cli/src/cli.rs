//! Every clap type of the command line; the logic is in `cmd/`.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use nix::sys::signal::Signal;
use raindrops::memory::MemoryMetric;
pub(crate) use raindrops_http::exposition::Format;

use crate::units;

/// Real-time stats for preforking and multi-threaded Linux servers.
#[derive(Debug, Parser)]
#[command(name = "raindrops", version = env!("RAINDROPS_VERSION"), after_help = crate::exit::HELP)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the named counters of a file-backed segment (per worker row and summed).
    Dump(DumpArgs),
    /// Serve the Watcher: live listener stats, histograms, a tail and OpenMetrics over HTTP.
    Watch(WatchArgs),
    /// Show active and queued connections of listening sockets (TCP and Unix), like
    /// raindrops' `linux-listener-stats.rb`.
    Stats(StatsArgs),
    /// Run a preforking demo server with the raindrops middleware: `/` (hello), `/slow?ms=N`,
    /// `/leak?mb=N`, `/_raindrops`, `/metrics`. Signals as unicorn: QUIT graceful stop,
    /// TERM/INT quick stop, TTIN/TTOU one worker more/less, HUP rolling restart, USR1 reopen
    /// the log. With `--max-memory`, `--max-requests`, `--max-lifetime` or `--memory-budget`,
    /// workers are recycled (replacement first, `--max-restarting` at a time), counted by
    /// reason in `/_raindrops.json` and `/metrics`.
    Serve(ServeArgs),
    /// A live terminal view of listeners (active, queued, peak, history) and of a segment's
    /// worker rows; prints one plain-text snapshot when stdout is not a terminal.
    Top(TopArgs),
    /// Print a shell completion script: `raindrops completions bash > /etc/bash_completion.d/raindrops`
    /// (zsh: a `_raindrops` file on `$fpath`; fish: `~/.config/fish/completions/raindrops.fish`).
    Completions(CompletionsArgs),
    /// Print the man page, raindrops(1), in roff: `raindrops man | man -l -`.
    Man(ManArgs),
    /// Recycle the workers of a running unicorn, puma or gunicorn master from outside (stalin
    /// without a gem): read through /proc every interval, signalled through pidfds with the
    /// server's own graceful signal, escalating to its abrupt one and SIGKILL. Exits 0 when
    /// the master exits.
    Recycle(RecycleArgs),
}

/// `--format` of `dump` and `stats`: the library's [`Format`], spelled `text`, `json` or
/// `prometheus` (OpenMetrics' families in the Prometheus text format, which `promtool` and
/// node_exporter's textfile collector read).
fn format_parser() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new([
        PossibleValue::new("text").help("Human- and grep-friendly `name: value` lines"),
        PossibleValue::new("json").help("One JSON object"),
        PossibleValue::new("prometheus")
            .help("Prometheus text exposition format, with `# TYPE` lines"),
    ])
    .map(|name| match name.as_str() {
        "json" => Format::Json,
        "prometheus" => Format::OpenMetrics,
        _ => Format::Text,
    })
}

/// Arguments of `raindrops dump`.
#[derive(Debug, clap::Args)]
pub(crate) struct DumpArgs {
    /// The segment file (created by `Drops::create`, `Workers::create` or a named-counters struct).
    pub(crate) file: PathBuf,
    /// Output format.
    #[arg(long, short, default_value = "text", value_parser = format_parser())]
    pub(crate) format: Format,
}

/// Arguments of `raindrops watch`.
#[derive(Debug, clap::Args)]
pub(crate) struct WatchArgs {
    /// Where to serve the Watcher (keep it on loopback unless you mean it).
    #[arg(long, short, default_value = "127.0.0.1:9292")]
    pub(crate) listen: SocketAddr,
    /// Time between samples: `1s`, `500ms`, or plain seconds (`0.5`).
    #[arg(long, short, default_value = "1s", value_parser = parse_duration)]
    pub(crate) delay: Duration,
    /// Also watch every Unix listener (when no ADDR is given).
    #[arg(long)]
    pub(crate) unix: bool,
    /// Most listeners tracked at once (histograms, peaks, history). To make room, those gone
    /// longest are forgotten first; beyond it, new listeners are listed but not tracked, and a
    /// warning is logged once. ADDRs are always tracked.
    #[arg(long, default_value = "4096", value_name = "N")]
    pub(crate) max_addresses: NonZeroUsize,
    /// Forget a listener that is gone (not an ADDR) after this long: `60s`, `5m`, `500ms`.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) forget_after: Duration,
    /// Timeouts and caps of the Watcher's own connections.
    #[command(flatten)]
    pub(crate) connections: ConnectionArgs,
    /// `/tail` streams at once (they are exempt from `--idle-timeout`); more get 503.
    #[arg(long, value_name = "N", default_value_t = raindrops_http::server::DEFAULT_MAX_STREAMS)]
    pub(crate) max_streams: usize,
    /// Do not measure how long queued connections wait (the sampler skips the lookups of
    /// queued connections; waits are shown as unmeasured, as for Unix listeners).
    #[arg(long)]
    pub(crate) no_wait: bool,
    /// Listeners to watch: `127.0.0.1:8080`, `[::]:80`, `/run/app.sock` (any bytes). Default:
    /// every TCP listener of the host.
    #[arg(value_parser = clap::value_parser!(OsString))]
    pub(crate) addrs: Vec<OsString>,
}

/// The connection policy of a server (`watch`, `serve`, `recycle --metrics-listen`): how
/// long a client may take, how many may be served at once.
#[derive(Debug, clap::Args)]
pub(crate) struct ConnectionArgs {
    /// Close a connection that has not sent a complete request head this long after
    /// connecting (slow clients). Default 10s.
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub(crate) header_timeout: Option<Duration>,
    /// Close a keep-alive connection that has not sent its next request head this long after
    /// the previous response. Default 60s.
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub(crate) idle_timeout: Option<Duration>,
    /// Serve at most N connections at once (per worker for `serve`); at N, a new connection
    /// replaces the one waiting longest for a request head, or, if all are answering
    /// requests, is answered 503 and closed. Default 512, lowered to stay below the
    /// open-file limit (`ulimit -n`) minus 64.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_connections: Option<u32>,
}

impl ConnectionArgs {
    /// The first of these flags given, by name: `recycle` refuses them without
    /// `--metrics-listen`.
    pub(crate) fn first_given(&self) -> Option<&'static str> {
        [
            ("--header-timeout", self.header_timeout.is_some()),
            ("--idle-timeout", self.idle_timeout.is_some()),
            ("--max-connections", self.max_connections.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }

    /// The policy these flags give, defaults where a flag is missing.
    pub(crate) fn policy(&self) -> raindrops_http::server::ConnectionPolicy {
        let mut policy = raindrops_http::server::ConnectionPolicy::default();
        if let Some(timeout) = self.header_timeout {
            policy.header_read_timeout = timeout;
        }
        if let Some(timeout) = self.idle_timeout {
            policy.idle_timeout = timeout;
        }
        if let Some(max) = self.max_connections {
            policy.max_connections = usize::try_from(max).unwrap_or(usize::MAX);
        }
        policy
    }
}

/// Parses `1s`, `250ms`, `2m`, `1h` or plain seconds (`0.5`) into a positive duration.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {text:?}: use ms, s, m or h")),
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("{text:?} is not a duration"))?;
    let secs = value * scale;
    if !(0.001..=86_400.0).contains(&secs) {
        return Err(format!("{text:?} is out of range: use 1ms to 24h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Arguments of `raindrops stats`.
///
/// Text output matches raindrops' `examples/linux-listener-stats.rb`: the header goes to
/// stderr and the rows to stdout, so `raindrops stats ADDR | ...` sees only data.
#[derive(Debug, clap::Args)]
pub(crate) struct StatsArgs {
    /// Repeat every SECONDS (`0.5`, or with a unit: `500ms`, `2s`) on a fixed schedule, keeping per-address
    /// aggregates: SIGUSR1 dumps them to stderr, SIGUSR2 resets them.
    #[arg(short, long, value_name = "SECONDS", value_parser = parse_duration)]
    pub(crate) delay: Option<Duration>,
    /// Print only rows whose queued count is at least N.
    #[arg(short = 't', long = "queued-threshold", value_name = "N")]
    pub(crate) queued_threshold: Option<u32>,
    /// Accepted for compatibility with linux-listener-stats.rb, where it does nothing either.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Ask the kernel for listening sockets only: queued counts without the cost of walking
    /// every established connection (active is not reported).
    #[arg(long)]
    pub(crate) queued_only: bool,
    /// Also show how long connections have waited in each TCP accept queue, read from the
    /// kernel with the stats (then exact lookups of the queued connections only): columns
    /// oldest_ms, p50_ms and p99_ms (`-` when none waits; always `-` for Unix listeners,
    /// whose kernel keeps no such clock). Ages count from the handshake, request sent or
    /// not, in kernel ticks (4 ms at HZ=250).
    #[arg(long, conflicts_with = "queued_only")]
    pub(crate) wait: bool,
    /// With no ADDR: also list every Unix stream listener.
    #[arg(long)]
    pub(crate) unix: bool,
    /// Output format.
    #[arg(long, short, default_value = "text", value_parser = format_parser())]
    pub(crate) format: Format,
    /// Listener addresses: `IPv4:PORT`, `[IPv6]:PORT` or an absolute Unix socket path (any
    /// bytes; printed escaped). None: every TCP listener on the host.
    #[arg(value_name = "ADDR", value_parser = clap::value_parser!(OsString))]
    pub(crate) addrs: Vec<OsString>,
}

/// Arguments of `raindrops serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// How many worker processes.
    #[arg(long, short, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) workers: u16,
    /// Where to listen: `127.0.0.1:8080`, `[::1]:8080` or a Unix socket path; repeat for
    /// several. Default 127.0.0.1:8080, or only the sockets systemd passes (`LISTEN_FDS`).
    #[arg(long, short, value_name = "ADDR")]
    pub(crate) listen: Vec<String>,
    /// Kill (SIGKILL) and replace a worker whose heartbeat is older than this: `30s`, `500ms`.
    #[arg(long, short, default_value = "30s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
    /// Timeouts and caps of each worker's connections.
    #[command(flatten)]
    pub(crate) connections: ConnectionArgs,
    /// Append the log (master and workers) to FILE instead of stderr; SIGUSR1 reopens it.
    #[arg(long, value_name = "FILE")]
    pub(crate) log: Option<PathBuf>,
    /// Keep the workers' counters (with each worker's pid and a heartbeat a second) in FILE,
    /// a segment `raindrops dump FILE` and `raindrops top --segment FILE` read, instead of
    /// anonymous memory. A segment left by a previous run is reused: its counters carry on. A
    /// file that is not a raindrops segment, or one another live `serve` uses, is refused.
    #[arg(long, value_name = "FILE")]
    pub(crate) segment: Option<PathBuf>,
    /// With `--segment`: start the counters from zero instead of keeping a previous run's
    /// (a segment file of other counters is replaced too; any other file is still refused).
    #[arg(long, requires = "segment")]
    pub(crate) segment_reset: bool,
    /// Recycle a worker whose memory (`--memory-metric`) exceeds a limit drawn per worker in
    /// MIN..MAX: `300M..400M`, `1G` (both ends), plain bytes. Checked every 16 responses.
    #[arg(long, value_name = "MIN..MAX", value_parser = units::parse_size_range)]
    pub(crate) max_memory: Option<RangeInclusive<u64>>,
    /// Recycle a worker after a number of responses drawn per worker in MIN..MAX.
    #[arg(long, value_name = "MIN..MAX", value_parser = units::parse_count_range)]
    pub(crate) max_requests: Option<RangeInclusive<u64>>,
    /// Recycle a worker older than D plus a jitter drawn per worker in 0..D/10 (`1h`, `30m`);
    /// or MIN..MAX for an explicit range.
    #[arg(long, value_name = "D", value_parser = parse_lifetime)]
    pub(crate) max_lifetime: Option<Lifetime>,
    /// What `--max-memory` and `--memory-budget` measure. USS (memory only this worker
    /// maps) by default: RSS also counts the pages a worker still shares with the master
    /// after fork, so every worker looks as big as the master; PSS splits shared pages
    /// between their users, which is fair for a budget but costs the same to read as USS.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) memory_metric: Metric,
    /// How many workers may be restarting at once (each replacement serves before the worker
    /// it replaces is stopped).
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) max_restarting: u16,
    /// Have the master replace each worker once it is D old plus a jitter drawn per worker in
    /// 0..D/10 (or MIN..MAX), one at a time: a rolling restart that needs nothing from the
    /// workers.
    #[arg(long, value_name = "D", value_parser = parse_lifetime)]
    pub(crate) rolling_restart: Option<Lifetime>,
    /// A memory budget for all workers together (`--memory-metric`), checked by the master
    /// every second: over it, the largest worker is replaced.
    #[arg(long, value_name = "BYTES", value_parser = units::parse_positive_size)]
    pub(crate) memory_budget: Option<u64>,
}

/// A memory metric of a worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Metric {
    /// Resident set size: includes the pages shared with the master and other workers.
    Rss,
    /// Proportional set size: shared pages divided between the processes sharing them.
    Pss,
    /// Unique set size: only the pages this worker alone maps.
    #[default]
    Uss,
}

impl From<Metric> for MemoryMetric {
    fn from(metric: Metric) -> Self {
        match metric {
            Metric::Rss => MemoryMetric::Rss,
            Metric::Pss => MemoryMetric::Pss,
            Metric::Uss => MemoryMetric::Uss,
        }
    }
}

/// A lifetime and the most jitter added to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lifetime {
    pub(crate) base: Duration,
    pub(crate) jitter: Duration,
}

/// `D` (jitter up to D/10) or `MIN..MAX` durations.
pub(crate) fn parse_lifetime(text: &str) -> Result<Lifetime, String> {
    let range = units::parse_range(text, parse_duration)?;
    let (base, max) = range.into_inner();
    let jitter = if text.contains("..") { max - base } else { base / 10 };
    Ok(Lifetime { base, jitter })
}

/// Arguments of `raindrops recycle`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["master", "pidfile"]))]
pub(crate) struct RecycleArgs {
    /// The master's pid: its children are the workers.
    #[arg(long, value_name = "PID", value_parser = clap::value_parser!(u32).range(2..))]
    pub(crate) master: Option<u32>,
    /// A file holding the master's pid (unicorn's `pid`, puma's `--pidfile`, gunicorn's `-p`).
    #[arg(long, value_name = "FILE")]
    pub(crate) pidfile: Option<PathBuf>,
    /// The server's signals: unicorn (QUIT graceful, TERM immediate), puma (cluster worker:
    /// TERM graceful, none immediate), gunicorn (TERM graceful, QUIT immediate). Default
    /// unicorn, unless `--graceful` is given.
    #[arg(long, value_enum, conflicts_with = "graceful")]
    pub(crate) preset: Option<crate::cmd::recycle::Preset>,
    /// The graceful signal (`QUIT`, `SIGTERM`, ...), sent up to 10 times a second apart.
    #[arg(long, value_name = "SIG", value_parser = parse_signal)]
    pub(crate) graceful: Option<Signal>,
    /// The abrupt signal sent up to 5 times after the graceful ones, before SIGKILL.
    #[arg(long, value_name = "SIG", value_parser = parse_signal, requires = "graceful")]
    pub(crate) abrupt: Option<Signal>,
    /// Recycle a worker whose memory (`--memory-metric`) exceeds a limit drawn once per
    /// worker in MIN..MAX: `300M..400M`, `1G` (both ends), plain bytes.
    #[arg(long, value_name = "MIN..MAX", value_parser = units::parse_size_range)]
    pub(crate) max_memory: Option<RangeInclusive<u64>>,
    /// What `--max-memory` and `--memory-budget` measure: USS by default (RSS counts the
    /// pages a worker shares with its master in every worker).
    #[arg(long, value_enum, default_value_t)]
    pub(crate) memory_metric: Metric,
    /// A memory budget for all workers together: over it, the largest worker is recycled.
    #[arg(long, value_name = "BYTES", value_parser = units::parse_positive_size)]
    pub(crate) memory_budget: Option<u64>,
    /// Recycle a worker older than D plus a jitter drawn per worker in 0..D/10 (or MIN..MAX).
    #[arg(long, value_name = "D", value_parser = parse_lifetime)]
    pub(crate) max_lifetime: Option<Lifetime>,
    /// Recycle each worker once it is D old plus a jitter drawn per worker in 0..D/10 (or
    /// MIN..MAX), one at a time.
    #[arg(long, value_name = "D", value_parser = parse_lifetime)]
    pub(crate) rolling_restart: Option<Lifetime>,
    /// At most K workers recycling: the next waits until the master has started a
    /// replacement and the recycled worker is gone.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) max_restarting: u16,
    /// Time between two reads of the workers: `1s`, `200ms`.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub(crate) interval: Duration,
    /// Serve OpenMetrics at `http://ADDR/metrics` (per-worker USS, PSS and RSS, drawn limit,
    /// age and state; workers recycling now and at most; recycles by reason, escalation
    /// signals), under the connection policy of `watch` (`--header-timeout`, `--idle-timeout`,
    /// `--max-connections`). Give a loopback address (`127.0.0.1:9300`): the endpoint has no
    /// authentication. A bare port (`9300`) means `127.0.0.1:9300`; any other address than
    /// loopback is logged as a warning.
    #[arg(long, value_name = "ADDR", value_parser = parse_metrics_listen)]
    pub(crate) metrics_listen: Option<std::net::SocketAddr>,
    /// Timeouts and caps of the `--metrics-listen` endpoint's connections.
    #[command(flatten)]
    pub(crate) connections: ConnectionArgs,
    /// Log each decision and signal nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `--metrics-listen`: `IP:PORT`, `[IPv6]:PORT`, or a bare port on loopback (`9300` is
/// `127.0.0.1:9300`).
fn parse_metrics_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse()
        .map_err(|_| format!("{text:?} is not an address: give PORT, IP:PORT or [IPv6]:PORT"))
}

/// A signal by name: `QUIT`, `SIGQUIT`, `quit`.
fn parse_signal(text: &str) -> Result<Signal, String> {
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    match name.parse::<Signal>() {
        Ok(Signal::SIGKILL | Signal::SIGSTOP) => {
            Err(format!("{text:?}: SIGKILL and SIGSTOP cannot be a worker's stop signal"))
        }
        Ok(signal) => Ok(signal),
        Err(_) => Err(format!("{text:?} is not a signal name (QUIT, TERM, INT, ...)")),
    }
}

/// Arguments of `raindrops top`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Keys: 1-5 sort by address, active, queued, peak or oldest wait (again: reverse); m sorts
the --master workers by the next column (uss, pss, rss, age, pid); / filters addresses by
what you type (Enter keeps the filter, Esc clears it); q or Ctrl-C quits.")]
pub(crate) struct TopArgs {
    /// Time between samples: `1s`, `500ms`, or plain seconds (`0.5`).
    #[arg(long, short, default_value = "1s", value_parser = parse_duration)]
    pub(crate) delay: Duration,
    /// A file-backed workers segment (written by `raindrops serve`, or any app using
    /// `Workers::create`): show each worker row and their sum.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) segment: Option<PathBuf>,
    /// A prefork master (unicorn, puma, gunicorn, `raindrops serve`): show its workers from
    /// /proc: pid, USS, PSS, RSS, age, and with `--recycle` their drawn limit and state.
    #[arg(long, value_name = "PID", value_parser = clap::value_parser!(u32).range(2..))]
    pub(crate) master: Option<u32>,
    /// The `--metrics-listen` address of a `raindrops recycle` watching `--master`
    /// (`127.0.0.1:9300`): each worker's drawn limit and state, read every sample.
    #[arg(long, value_name = "ADDR", requires = "master")]
    pub(crate) recycle: Option<std::net::SocketAddr>,
    /// With no ADDR: also list every Unix stream listener.
    #[arg(long)]
    pub(crate) unix: bool,
    /// Listeners to show: `127.0.0.1:8080`, `[::]:80`, `/run/app.sock` (any bytes). Default:
    /// every TCP listener of the host.
    #[arg(value_name = "ADDR", value_parser = clap::value_parser!(OsString))]
    pub(crate) addrs: Vec<OsString>,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::CommandFactory;

    #[test]
    fn durations() {
        assert_eq!(super::parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(super::parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(super::parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(super::parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(super::parse_duration("0").is_err());
        assert_eq!(super::parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(super::parse_duration("1d").is_err());
        assert!(super::parse_duration("25h").is_err());
        assert!(super::parse_duration("x").is_err());
        assert!(super::parse_duration("NaN").is_err());
    }

    #[test]
    fn lifetimes() {
        let lifetime = |base, jitter| super::Lifetime {
            base: Duration::from_secs(base),
            jitter: Duration::from_secs(jitter),
        };
        assert_eq!(super::parse_lifetime("100s"), Ok(lifetime(100, 10)));
        assert_eq!(super::parse_lifetime("1m..90s"), Ok(lifetime(60, 30)));
        assert!(super::parse_lifetime("2m..1m").unwrap_err().contains("empty range"));
        assert!(super::parse_lifetime("soon").is_err());
    }

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}

/// Arguments of `raindrops completions`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub(crate) shell: Shell,
}

/// Arguments of `raindrops man` (none).
#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {}

/// The shells `raindrops completions` writes for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Shell {
    /// GNU bash (`complete -F`).
    Bash,
    /// zsh (`#compdef`).
    Zsh,
    /// fish (`complete -c`).
    Fish,
}
