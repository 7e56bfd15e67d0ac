//! `raindrops dump FILE`: print a file-backed segment's counters.

use crate::cli::DumpArgs;
use crate::exit::Code;

impl super::Run for DumpArgs {
    fn run(&self) -> anyhow::Result<Code> {
        anyhow::bail!("dump of {} is not wired yet", self.file.display())
    }
}
