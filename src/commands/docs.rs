//! `taskq completions` and `taskq man`, rendered from the clap definition.
//! The same renderings are committed under completions/ and man/, and a test
//! fails when they drift from cli.rs.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;

/// Writes completions for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // Rendered to memory first: clap_complete panics on a failed write (a
    // closed pipe, a full disk), while here the error takes the usual path.
    let mut rendered = Vec::new();
    clap_complete::generate(shell, &mut visible(Cli::command()), "taskq", &mut rendered);
    out.write_all(&rendered)
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::Error::new(e).context("cannot write the completions"))?;
    Ok(ExitCode::SUCCESS)
}

/// `command` without its hidden subcommands (`__reap`), which clap_complete,
/// unlike clap_mangen, would offer. clap cannot remove a subcommand, so the
/// root is rebuilt from the parts completions render: its name, version,
/// help texts, its own arguments, and the visible subcommands as they are.
fn visible(command: clap::Command) -> clap::Command {
    if !command.get_subcommands().any(clap::Command::is_hide_set) {
        return command;
    }
    let mut root = clap::Command::new(command.get_name().to_string())
        .propagate_version(command.is_propagate_version_set())
        .args(command.get_arguments().cloned())
        .subcommands(command.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(version) = command.get_version() {
        root = root.version(version.to_string());
    }
    if let Some(about) = command.get_about() {
        root = root.about(about.clone());
    }
    if let Some(long_about) = command.get_long_about() {
        root = root.long_about(long_about.clone());
    }
    if let Some(examples) = command.get_after_long_help() {
        root = root.after_long_help(examples.clone());
    }
    root
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
