//! Broker errors are kinds callers branch on, never message text.

use crate::exit::Exit;

/// What went wrong talking to a broker.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// Cannot connect, authentication refused, connection lost.
    #[error("cannot reach the broker at {url}: {reason}; {hint}")]
    Unavailable { url: String, reason: String, hint: &'static str },
    /// The store exists but is not a taskq broker (or is damaged).
    #[error("{url} is not a usable taskq database: {reason}")]
    Corrupt { url: String, reason: String },
    /// The broker answered something this version cannot read.
    #[error("internal error: unexpected data from the broker: {0}; please report it")]
    Protocol(String),
}

impl BrokerError {
    /// The exit code a command ends with on this error.
    pub fn exit(&self) -> Exit {
        match self {
            BrokerError::Unavailable { .. } | BrokerError::Corrupt { .. } => Exit::Unavailable,
            BrokerError::Protocol(_) => Exit::Failure,
        }
    }

    /// Whether retrying later may help (a worker keeps trying on these).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, BrokerError::Unavailable { .. })
    }
}
