//! Every clap type of the command line; the logic is in `cmd/`.

use std::path::PathBuf;

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
    /// Show active and queued connections of listening sockets (TCP and Unix), like
    /// raindrops' `linux-listener-stats.rb`.
    Stats(StatsArgs),
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

/// Arguments of `raindrops stats`.
///
/// Text output matches raindrops' `examples/linux-listener-stats.rb`: the header goes to
/// stderr and the rows to stdout, so `raindrops stats ADDR | ...` sees only data.
#[derive(Debug, clap::Args)]
pub(crate) struct StatsArgs {
    /// Repeat every SECONDS (fractions allowed) on a fixed schedule, keeping per-address
    /// aggregates: SIGUSR1 dumps them to stderr, SIGUSR2 resets them.
    #[arg(short, long, value_name = "SECONDS", value_parser = parse_delay)]
    pub(crate) delay: Option<f64>,
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
    /// Listener addresses: IPv4:PORT, [IPv6]:PORT or an absolute Unix socket path. None:
    /// every TCP listener on the host.
    #[arg(value_name = "ADDR")]
    pub(crate) addrs: Vec<String>,
}

fn parse_delay(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(d) if d.is_finite() && d > 0.0 && d < 1e9 => Ok(d),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
