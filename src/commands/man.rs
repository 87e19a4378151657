//! `taskq man [PAGE]`: print a man page (src/man renders them all).

use std::io::Write;
use std::process::ExitCode;

use crate::cli::ManArgs;

/// Writes the page `args` names, taskq(1) by default.
pub(super) fn run(args: ManArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let page = crate::man::page(args.page.as_deref())?;
    out.write_all(&page)
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::Error::new(e).context("cannot write the man page"))?;
    Ok(ExitCode::SUCCESS)
}
