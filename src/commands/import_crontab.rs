//! `taskq import-crontab`: print jobs.toml entries for a crontab; report
//! every line that cannot be converted (exit 65).

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
    if !converted.problems.is_empty() {
        let n = converted.problems.len();
        return Err(DataError(format!(
            "{n} line{} not converted; the {} other entr{} were",
            if n == 1 { "" } else { "s" },
            converted.jobs,
            if converted.jobs == 1 { "y" } else { "ies" }
        ))
        .into());
    }
    Ok(ExitCode::SUCCESS)
}
