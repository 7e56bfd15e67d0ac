//! `raindrops completions SHELL`: the shell's completion script for the whole command line,
//! generated from the clap definition (clap_complete), so it never lags behind a new flag.

use clap::CommandFactory;
use clap_complete::{Shell as Generator, generate};

use crate::cli::{Cli, CompletionsArgs, Shell};
use crate::exit::Code;

impl super::Run for CompletionsArgs {
    fn run(&self) -> anyhow::Result<Code> {
        let shell = match self.shell {
            Shell::Bash => Generator::Bash,
            Shell::Zsh => Generator::Zsh,
            Shell::Fish => Generator::Fish,
        };
        let mut command = Cli::command();
        let mut out = Vec::new();
        generate(shell, &mut command, "raindrops", &mut out);
        crate::stdout::write_all(&out)
    }
}
