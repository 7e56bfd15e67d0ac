//! The `raindrops` command: listener stats, the Watcher, a prefork demo server and `top`.
//!
//! `main` only parses, dispatches and maps errors to exit codes; each subcommand lives in
//! `cmd/<name>.rs`, and every clap type in `cli.rs`.
#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod exit;
mod procfs;
mod stdout;
mod units;

use std::process::ExitCode;

use clap::Parser;

use crate::cmd::Run;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command.run() {
        Ok(code) => code.into(),
        Err(err) => exit::report(&err).into(),
    }
}
