//! Every clap type of the command line; the logic is in `cmd/`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// Real-time stats for preforking and multi-threaded Linux servers.
#[derive(Debug, Parser)]
#[command(name = "raindrops", version, after_help = crate::exit::HELP)]
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
    /// the log.
    Serve(ServeArgs),
    /// A live terminal view of listeners (active, queued, peak, history) and of a segment's
    /// worker rows; prints one plain-text snapshot when stdout is not a terminal.
    Top(TopArgs),
}

/// Output formats shared by the subcommands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Human- and grep-friendly `name: value` lines.
    #[default]
    Text,
    /// One JSON object.
    Json,
    /// Prometheus text exposition format, with `# TYPE` lines.
    Prometheus,
}

/// Arguments of `raindrops dump`.
#[derive(Debug, clap::Args)]
pub(crate) struct DumpArgs {
    /// The segment file (created by `Drops::create`, `Workers::create` or a named-counters struct).
    pub(crate) file: PathBuf,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t)]
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
    /// Listeners to watch: `127.0.0.1:8080`, `[::]:80`, `/run/app.sock`. Default: every TCP
    /// listener of the host.
    pub(crate) addrs: Vec<String>,
}

/// Parses `1s`, `250ms`, `2m` or plain seconds (`0.5`) into a positive duration.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        _ => return Err(format!("unknown unit {unit:?} in {text:?}: use ms, s or m")),
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
    /// With no ADDR: also list every Unix stream listener.
    #[arg(long)]
    pub(crate) unix: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t)]
    pub(crate) format: Format,
    /// Listener addresses: `IPv4:PORT`, `[IPv6]:PORT` or an absolute Unix socket path. None:
    /// every TCP listener on the host.
    #[arg(value_name = "ADDR")]
    pub(crate) addrs: Vec<String>,
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
    /// Append the log (master and workers) to FILE instead of stderr; SIGUSR1 reopens it.
    #[arg(long, value_name = "FILE")]
    pub(crate) log: Option<PathBuf>,
}

/// Arguments of `raindrops top`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Keys: 1-4 sort by address, active, queued or peak (again: reverse); / filters addresses by
what you type (Enter keeps the filter, Esc clears it); q or Ctrl-C quits.")]
pub(crate) struct TopArgs {
    /// Time between samples: `1s`, `500ms`, or plain seconds (`0.5`).
    #[arg(long, short, default_value = "1s", value_parser = parse_duration)]
    pub(crate) delay: Duration,
    /// A file-backed workers segment (written by `raindrops serve`, or any app using
    /// `Workers::create`): show each worker row and their sum.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) segment: Option<PathBuf>,
    /// With no ADDR: also list every Unix stream listener.
    #[arg(long)]
    pub(crate) unix: bool,
    /// Listeners to show: `127.0.0.1:8080`, `[::]:80`, `/run/app.sock`. Default: every TCP
    /// listener of the host.
    #[arg(value_name = "ADDR")]
    pub(crate) addrs: Vec<String>,
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
        assert!(super::parse_duration("1h").is_err());
        assert!(super::parse_duration("x").is_err());
        assert!(super::parse_duration("NaN").is_err());
    }

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
