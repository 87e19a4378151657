//! `taskq completions` and `taskq man`: the completion scripts (see
//! `cli::complete`) and the man pages rendered from the clap definition.
//! Both are committed under completions/ and man/, and a test fails when
//! they drift.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;

/// Writes the completion script for `shell`: it registers taskq with the
/// shell and calls back into taskq at each TAB (`cli::complete`), so the
/// script stays the same when jobs.toml or taskq's flags change.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // Rendered to memory first, so that a failed write (a closed pipe, a
    // full disk) is one error on the usual path.
    let mut rendered = Vec::new();
    crate::cli::complete::registration(shell, &mut rendered)?;
    out.write_all(&rendered)
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::Error::new(e).context("cannot write the completions"))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the top man page.
pub(super) fn man(out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (_, page) = man_pages()?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("internal error: no man page rendered; please report it"))?;
    out.write_all(&page)
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::Error::new(e).context("cannot write the man page"))?;
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
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help" && !s.is_hide_set()) {
        let name = format!("taskq-{}", sub.get_name());
        let mut page = Vec::new();
        clap_mangen::Man::new(sub.clone().name(name.clone()).display_name(name.clone())).render(&mut page)?;
        pages.push((format!("{name}.1"), page));
    }
    Ok(pages)
}
