//! Errors that decide an exit code, and the one place (`exit_code`) that maps
//! an error chain to SPEC §2's codes. Modules own their own error enums; the
//! ones here are the cross-cutting kinds commands raise directly.

use std::process::ExitCode;

use crate::broker::BrokerError;
use crate::config::ConfigErrors;

/// Exit codes for shell scripts (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Success = 0,
    /// The job failed, was revoked or expired.
    Failure = 1,
    Usage = 2,
    /// Bad input data (a `--batch` line, a crontab line).
    DataErr = 65,
    /// The broker cannot be reached or opened.
    Unavailable = 69,
    /// `enqueue`: stored, but the id could not be printed.
    IoErr = 74,
    /// `--timeout` reached while waiting.
    TempFail = 75,
    /// Invalid or missing config.
    Config = 78,
    /// `exec`: the job hit its timeout, as coreutils `timeout` exits.
    Timeout = 124,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// A mistake in how taskq was invoked: unknown job, bad parameter, unknown id.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// What a command was asked to do did not happen: a job failed, could not
/// be revoked or retried (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Failed(pub String);

/// Ids the broker does not know: one wording for every command.
pub fn unknown_ids<T: std::fmt::Display>(ids: &[T]) -> UsageError {
    let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let what = if list.len() == 1 { "unknown job id" } else { "unknown job ids" };
    UsageError(format!("{what} {}: not in this broker and namespace (or its result expired)", list.join(", ")))
}

/// Input data that cannot be used (exit 65).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DataError(pub String);

/// Jobs were stored but their ids could not be printed (exit 74): a caller
/// that retries would enqueue them twice, so it must not read this as a
/// failure to enqueue.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotPrinted(pub String);

/// A `--timeout` that ran out (exit 75).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TimedOut(pub String);

/// The exit code for an error: the first cause in the chain that decides one.
pub fn exit_code(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.is::<UsageError>() {
            return Exit::Usage;
        }
        if cause.is::<ConfigErrors>() {
            return Exit::Config;
        }
        if cause.is::<DataError>() {
            return Exit::DataErr;
        }
        if cause.is::<TimedOut>() {
            return Exit::TempFail;
        }
        if cause.is::<NotPrinted>() {
            return Exit::IoErr;
        }
        if cause.is::<Failed>() {
            return Exit::Failure;
        }
        if let Some(broker) = cause.downcast_ref::<BrokerError>() {
            return broker.exit();
        }
    }
    Exit::Failure
}

/// Whether the error is stdout being closed under us (`taskq list | head`):
/// then there is nobody to tell, and taskq ends quietly, as `cat` does.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    !err.chain().any(<dyn std::error::Error + 'static>::is::<NotPrinted>)
        && err
            .chain()
            .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

/// The lines to print for an error: `error: ` and the message with its causes
/// joined by `: `; a config error prints one line per problem found.
pub fn render(err: &anyhow::Error) -> Vec<String> {
    // One line each, whatever a quoted value holds (a newline in a queue
    // name, an escape sequence in a parameter).
    if let Some(config) = err.downcast_ref::<ConfigErrors>() {
        return config.iter().map(|e| format!("error: {}", crate::text::one_line(&e.to_string()))).collect();
    }
    vec![format!("error: {}", crate::text::one_line(&format!("{err:#}")))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_ids_have_one_wording() {
        assert_eq!(
            unknown_ids(&["a"]).to_string(),
            "unknown job id a: not in this broker and namespace (or its result expired)"
        );
        assert!(unknown_ids(&["a", "b"]).to_string().starts_with("unknown job ids a, b: "));
        assert_eq!(exit_code(&anyhow::Error::new(Failed("job x failed".into()))), Exit::Failure);
    }

    #[test]
    fn exit_code_walks_the_chain() {
        let err = anyhow::Error::new(UsageError("unknown job \"x\"".into())).context("enqueue");
        assert_eq!(exit_code(&err), Exit::Usage);
        assert_eq!(exit_code(&anyhow::anyhow!("plain")), Exit::Failure);
    }

    #[test]
    fn render_joins_causes() {
        let err = anyhow::Error::new(DataError("line 3: bad json".into())).context("reading batch");
        assert_eq!(render(&err), vec!["error: reading batch: line 3: bad json"]);
    }
}
