//! `raindrops man`: the man page raindrops(1) in roff, rendered from the clap definition
//! (clap_mangen): name, synopsis, options, then one section per subcommand with its own
//! synopsis, description and every option (one page documents every flag; clap_mangen's
//! list of `raindrops-watch(1)` pages, which do not exist, is left out), then the exit
//! codes and the version.

use clap::CommandFactory;
use clap_mangen::Man;

use crate::cli::{Cli, ManArgs};
use crate::exit::Code;

impl super::Run for ManArgs {
    /// Writes raindrops(1) to stdout.
    fn run(&self) -> anyhow::Result<Code> {
        let command = Cli::command();
        let mut page = Vec::new();
        let top = Man::new(command.clone());
        top.render_title(&mut page)?;
        top.render_name_section(&mut page)?;
        top.render_synopsis_section(&mut page)?;
        top.render_description_section(&mut page)?;
        top.render_options_section(&mut page)?;
        for sub in command.get_subcommands() {
            let name = format!("raindrops {}", sub.get_name());
            let mut section = Vec::new();
            let man = Man::new(sub.clone().bin_name(&name));
            man.render_synopsis_section(&mut section)?;
            man.render_description_section(&mut section)?;
            man.render_options_section(&mut section)?;
            // The subcommand's sections become subsections under one section named after it.
            let section = String::from_utf8(section)?.replace(".SH ", ".SS ");
            page.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
            page.extend_from_slice(section.as_bytes());
        }
        top.render_extra_section(&mut page)?;
        top.render_version_section(&mut page)?;
        crate::stdout::write_all(&page)
    }
}
