//! The kinds of error that decide an exit code (SPEC §2), with the codes
//! themselves. A leaf: any module may raise these; `error` maps a whole
//! error chain to its code.

use std::process::ExitCode;

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

/// Ids the broker does not know (exit 2, as a usage mistake; the HTTP API
/// answers 404).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnknownIds(pub String);

/// Ids the broker does not know: one wording for every command.
pub fn unknown_ids<T: std::fmt::Display>(ids: &[T]) -> UnknownIds {
    let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let what = if list.len() == 1 { "unknown job id" } else { "unknown job ids" };
    UnknownIds(format!("{what} {}: not in this broker and namespace (or its result expired)", list.join(", ")))
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
