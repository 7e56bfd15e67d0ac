//! One module per subcommand, each an `impl Run for <Args>`.

mod completions;
mod dump;
mod man;
pub(crate) mod recycle;
mod serve;
mod stats;
mod top;
mod watch;

use crate::cli::Command;
use crate::exit::Code;

/// A subcommand that can be run.
pub(crate) trait Run {
    /// Runs the subcommand; the returned code becomes the process exit status.
    fn run(&self) -> anyhow::Result<Code>;
}

impl Run for Command {
    fn run(&self) -> anyhow::Result<Code> {
        match self {
            Command::Dump(args) => args.run(),
            Command::Watch(args) => args.run(),
            Command::Stats(args) => args.run(),
            Command::Serve(args) => args.run(),
            Command::Top(args) => args.run(),
            Command::Completions(args) => args.run(),
            Command::Man(args) => args.run(),
            Command::Recycle(args) => args.run(),
        }
    }
}
