//! What the command line and the dashboard both do to the broker, beyond
//! enqueueing (`crate::enqueue`): read the overview, retry, revoke, and
//! control schedules. Each returns what happened; the caller words it for
//! a terminal or an HTTP response.

pub mod ids;
pub mod retry;
pub mod revoke;
pub mod schedules;
mod snapshot;

pub use retry::retry;
pub use snapshot::snapshot;
