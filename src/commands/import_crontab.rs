//! `taskq import-crontab`: print jobs.toml entries for a crontab; report
//! every line that cannot be converted (exit 65, or 0 with `--allow-partial`).

use std::io::Read;
use std::process::ExitCode;

use crate::cli::ImportCrontabArgs;
use crate::crontab::convert;
use crate::error::{DataError, UsageError};

pub(super) fn run(args: ImportCrontabArgs) -> anyhow::Result<ExitCode> {
    let text = match &args.file {
        Some(path) if path.as_os_str() != "-" => std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("cannot read crontab {}: {e}", path.display())))?,
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| UsageError(format!("cannot read the crontab from stdin: {e}")))?;
            text
        }
    };
    let converted = convert(&text, args.system);
    say!("{}", converted.toml.trim_end());
    for p in &converted.problems {
        eprintln!("error: line {}: {}", p.line, crate::text::one_line(&p.reason));
    }
    if converted.problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let n = converted.problems.len();
    let jobs = converted.names.len();
    let summary = format!(
        "{n} line{} not converted; the {jobs} other {} converted",
        if n == 1 { "" } else { "s" },
        if jobs == 1 { "entry was" } else { "entries were" }
    );
    if args.allow_partial {
        eprintln!("warning: {summary} (--allow-partial: exit 0)");
        return Ok(ExitCode::SUCCESS);
    }
    Err(DataError(summary).into())
}
