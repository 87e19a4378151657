//! The one place (`exit_code`) that maps an error chain to SPEC §2's codes,
//! and how an error is printed. Modules own their own error enums; the
//! cross-cutting kinds commands raise directly live in `exit`, a leaf, so
//! that the modules raising them need not depend on this one.

use crate::broker::BrokerError;
use crate::config::ConfigErrors;
pub use crate::exit::*;

/// The exit code for an error: the first cause in the chain that decides one.
pub fn exit_code(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.is::<UsageError>() || cause.is::<UnknownIds>() {
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
