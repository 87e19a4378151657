//! Hook jobs (`on_success`, `on_failure`) on their way to their queue, and
//! workflow step jobs' outcomes on their way to their run (entries marked
//! `@`, runs.rs). The
//! outcome that triggers one is recorded in its job's queue slot, and the
//! hook may belong to another queue (another slot): so `finish.lua` puts it
//! in the queue's outbox in the same atomic step, stamped with the time,
//! and the worker that finished enqueues it right after, then removes it. A
//! worker lost in between leaves it there, and maintenance enqueues it once
//! it is older than `LEFT_FOR`. Enqueued twice (a worker killed between the
//! enqueue and the removal), a hook goes in once while its record exists,
//! as an enqueue by a known id leaves the job as it is (an `ignore_result`
//! job's tombstone counts, for its result ttl); only one whose record and
//! tombstone are gone could run again.

use std::time::Duration;

use super::fields::{from_outbox, ms};
use super::{RedisBroker, unique};
use crate::broker::BrokerError;
use crate::job::{JobId, NewJob};

/// Entries looked at per round.
const BATCH: isize = 100;

/// How long an entry is left to the worker that made it before maintenance
/// enqueues it: far longer than that worker's next two round trips.
pub(super) const LEFT_FOR: Duration = Duration::from_secs(10);

/// Enqueues the hook job `finish.lua` put in `queue`'s outbox as `entry`,
/// then removes the entry.
pub(super) async fn deliver(b: &RedisBroker, queue: &str, entry: &str, hook: &NewJob) -> Result<(), BrokerError> {
    unique::enqueue(b, std::slice::from_ref(hook)).await?;
    let _: i64 = b.link.query(redis::cmd("LREM").arg(b.keys.queue(queue).key("outbox")).arg(1).arg(entry)).await?;
    Ok(())
}

/// Applies the step job's outcome `finish.lua` put in `queue`'s outbox as
/// `entry` (stamp, then `@` and the report) to its run, then removes the
/// entry; true if that completed its step or ended its run.
pub(super) async fn report(b: &RedisBroker, queue: &str, entry: &str) -> Result<bool, BrokerError> {
    let mut moved = false;
    if let Some((_, json)) = entry.split_once(" @") {
        moved = super::runs::advance_json(b, json).await?;
    }
    let _: i64 = b.link.query(redis::cmd("LREM").arg(b.keys.queue(queue).key("outbox")).arg(1).arg(entry)).await?;
    Ok(moved)
}

/// Enqueues the hook jobs left in `queue`'s outbox for longer than
/// `LEFT_FOR` by the broker's clock `now` (ms), and applies the step jobs'
/// outcomes left there to their runs (adding the runs to `runs`); returns
/// how many entries it handled.
pub(super) async fn drain(b: &RedisBroker, queue: &str, now: i64, runs: &mut Vec<JobId>) -> Result<u64, BrokerError> {
    let outbox = b.keys.queue(queue).key("outbox");
    let before = now - ms(LEFT_FOR) as i64;
    let mut moved = 0;
    let entries: Vec<String> = b.link.query(redis::cmd("LRANGE").arg(&outbox).arg(0).arg(BATCH - 1)).await?;
    for entry in &entries {
        let (at, job) = entry.split_once(' ').unwrap_or(("0", entry));
        if at.parse::<i64>().unwrap_or(0) >= before {
            continue;
        }
        if let Some(json) = job.strip_prefix('@') {
            if let Ok(r) = serde_json::from_str::<crate::broker::StepReport>(json) {
                runs.push(r.run);
            }
            report(b, queue, entry).await?;
            moved += 1;
            continue;
        }
        match from_outbox(job) {
            Ok(job) => {
                unique::enqueue(b, std::slice::from_ref(&job)).await?;
                moved += 1;
            }
            // Written by this code, so never expected; kept, it would be
            // read again every round.
            Err(e) => tracing::error!(queue, error = %e, "dropping an unreadable hook job from the outbox"),
        }
        let _: i64 = b.link.query(redis::cmd("LREM").arg(&outbox).arg(1).arg(entry)).await?;
    }
    Ok(moved)
}
