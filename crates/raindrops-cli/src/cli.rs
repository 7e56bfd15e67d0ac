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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
