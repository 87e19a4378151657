//! `taskq completions`: the completion scripts (see `cli::complete`),
//! committed under completions/; a test fails when they drift. (The man
//! pages are `crate::man`'s.)

use std::io::Write;
use std::process::ExitCode;

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
