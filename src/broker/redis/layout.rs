//! The key layout a namespace is in. Version 2 keeps job records as fields
//! of one hash (`{ns}:jobs`) instead of a hash per job, and beat's state of
//! each entry as a field of `{ns}:entries`; a namespace written
//! by an earlier taskq is converted by the first process that connects, in
//! bounded steps, then marked. Stop every older taskq process first: one
//! still running would go on writing records the new layout does not read.

use super::{RedisBroker, SCRIPTS};
use crate::broker::BrokerError;

/// The layout this version writes.
const LAYOUT: &str = "2";

/// Converts the namespace to this layout unless it is marked as in it.
pub(super) async fn ensure(b: &RedisBroker) -> Result<(), BrokerError> {
    let marked: Option<String> = b.link.query(redis::cmd("GET").arg(b.keys.layout())).await?;
    if marked.as_deref() == Some(LAYOUT) {
        return Ok(());
    }
    let mut from: i64 = 0;
    let mut call = b.script(&SCRIPTS.migrate, b.keys.index());
    call.arg(from);
    loop {
        let next: i64 = b.link.invoke(&call).await?;
        if next < 0 {
            break;
        }
        from = next;
        call = b.script(&SCRIPTS.migrate, b.keys.index());
        call.arg(from);
    }
    let _: i64 = b.link.invoke(&b.script(&SCRIPTS.migrate_entries, b.keys.old_schedules())).await?;
    let _: () = b.link.query(redis::cmd("SET").arg(b.keys.layout()).arg(LAYOUT)).await?;
    Ok(())
}
