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
    let system = args.system || args.file.as_deref().is_some_and(is_system_crontab);
    let converted = convert(&text, system);
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

/// /etc/crontab and /etc/cron.d/*: the system format, whose user field
/// would otherwise be read as the command's first word.
fn is_system_crontab(path: &std::path::Path) -> bool {
    // Named as given, or relatively (`cd /etc/cron.d && ... myapp`).
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    path == std::path::Path::new("/etc/crontab") || path.parent() == Some(std::path::Path::new("/etc/cron.d"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn the_system_crontabs_are_known_by_their_place() {
        assert!(super::is_system_crontab(Path::new("/etc/crontab")));
        assert!(super::is_system_crontab(Path::new("/etc/cron.d/backup")));
        assert!(!super::is_system_crontab(Path::new("/var/spool/cron/crontabs/alice")));
        assert!(!super::is_system_crontab(Path::new("mycron")));
    }
}
