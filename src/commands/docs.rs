//! `taskq completions` and `taskq man`, rendered from the clap definition.
//! The same renderings are committed under completions/ and man/, and a test
//! fails when they drift from cli.rs.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;

/// Writes completions for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    clap_complete::generate(shell, &mut Cli::command(), "taskq", out);
    Ok(ExitCode::SUCCESS)
}

/// Writes the top man page.
pub(super) fn man(out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (_, page) = man_pages()?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("internal error: no man page rendered; please report it"))?;
    out.write_all(&page)?;
    Ok(ExitCode::SUCCESS)
}

/// Every man page: `taskq.1`, then one `taskq-SUBCOMMAND.1` per subcommand.
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut command = Cli::command();
    command.build();
    let mut pages = Vec::new();
    let mut top = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut top)?;
    pages.push(("taskq.1".to_string(), top));
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("taskq-{}", sub.get_name());
        let mut page = Vec::new();
        clap_mangen::Man::new(sub.clone().name(name.clone()).display_name(name.clone())).render(&mut page)?;
        pages.push((format!("{name}.1"), page));
    }
    Ok(pages)
}
