//! `taskq completions`, rendered from the clap definition. The same
//! renderings are committed under completions/, and a test fails when they
//! drift from cli.rs. (The man pages are `crate::man`'s.)

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
