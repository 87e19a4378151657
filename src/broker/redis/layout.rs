//! The key layout a namespace is in. Version 3 gives each queue its own
//! slot (`keys.rs`). A namespace written by an earlier taskq is moved by the
//! first process of this one that connects, under a lock (the others wait
//! for the mark), in bounded steps that are safe to repeat (one killed
//! halfway leaves every job once, in its old place or its queue), then
//! marked:
//! - version 1 (a hash per job, `{ns}:job:<id>`; per schedule entry) is
//!   first converted in place to version 2 (`migrate*.lua`);
//! - version 2 (every job a field of `{ns}:jobs`, one set of each kind for
//!   the namespace) is moved job by job to the queues: read
//!   (`export.lua`), stored in its queue (`import.lua`), deleted
//!   (`drop.lua`). Beat's entry states stay in `{ns}:entries` until a beat,
//!   which knows each entry's queue, moves them (`beat.rs`).
//!
//! Stop every older taskq process first: one still running would go on
//! writing keys this version does not read. A job that was running is put
//! back on its queue when its lease lapses, as after a worker's crash.

use std::collections::BTreeMap;

use super::{RedisBroker, SCRIPTS, queues};
use crate::broker::BrokerError;

/// The layout this version writes.
const LAYOUT: &str = "3";
const LAYOUT_VERSION: u32 = 3;

/// Jobs moved per step.
const MOVE: usize = 200;

/// A namespace's layout mark, and whether beat's state of before 0.2 is there.
pub(super) struct Mark {
    pub(super) marked: Option<String>,
    pub(super) old_entries: bool,
}

/// The commands that read a `Mark` (the caller may add its own after them).
pub(super) fn read_mark(keys: &crate::broker::keys::Keys) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.get(keys.layout()).exists(keys.old("entries"));
    pipe
}

/// Moves the namespace to this layout unless it is marked as in it; `mark`
/// is the mark if the caller read it already.
pub(super) async fn ensure(b: &RedisBroker, mark: Option<Mark>) -> Result<(), BrokerError> {
    let Mark { marked, mut old_entries } = if let Some(mark) = mark {
        mark
    } else {
        let (marked, old_entries) = b.link.pipe(&read_mark(&b.keys)).await?;
        Mark { marked, old_entries }
    };
    refuse_newer(b, marked.as_deref())?;
    if marked.as_deref() != Some(LAYOUT) {
        move_under_lock(b).await?;
        old_entries = b.link.query::<bool>(redis::cmd("EXISTS").arg(b.keys.old("entries"))).await?;
    }
    b.old_entries.store(old_entries, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// A namespace a newer taskq wrote is not this version's to read, or to
/// move back.
fn refuse_newer(b: &RedisBroker, marked: Option<&str>) -> Result<(), BrokerError> {
    match marked {
        Some(m) if m.parse::<u32>().map_or(true, |v| v > LAYOUT_VERSION) => Err(BrokerError::Unavailable {
            url: b.url.to_string(),
            reason: format!("the namespace is in key layout {m}, written by a newer taskq"),
            hint: "upgrade taskq on this host to the version the other hosts run",
        }),
        _ => Ok(()),
    }
}

/// How long the move's lock lasts unless renewed (it is, at every step).
const LOCK: u64 = 60_000;

/// Moves the namespace, one process at a time: two moving at once could
/// each store a batch the other has already moved, and bring back a job
/// deleted since (an `ignore_result` job that ran). The others wait for
/// the mark.
async fn move_under_lock(b: &RedisBroker) -> Result<(), BrokerError> {
    let lock = b.keys.old("moving");
    let token = crate::job::JobId::new().to_string();
    loop {
        let marked: Option<String> = b.link.query(redis::cmd("GET").arg(b.keys.layout())).await?;
        refuse_newer(b, marked.as_deref())?;
        if marked.as_deref() == Some(LAYOUT) {
            return Ok(());
        }
        let got: Option<String> =
            b.link.query(redis::cmd("SET").arg(&lock).arg(&token).arg("NX").arg("PX").arg(LOCK)).await?;
        if got.is_some() {
            if marked.as_deref() != Some("2") {
                to_version_2(b).await?;
            }
            to_version_3(b, &lock, &token).await?;
            let _: () = b.link.query(redis::cmd("SET").arg(b.keys.layout()).arg(LAYOUT)).await?;
            let _: i64 = b.link.query(redis::cmd("DEL").arg(&lock)).await?;
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Version 1 to 2, in the namespace's slot.
async fn to_version_2(b: &RedisBroker) -> Result<(), BrokerError> {
    let mut from: i64 = 0;
    loop {
        let mut call = b.ns_script(&SCRIPTS.migrate, &[b.keys.old("index"), b.keys.old("jobs")]);
        call.arg(b.keys.prefix()).arg(from).arg(MOVE);
        from = b.link.invoke(&call).await?;
        if from < 0 {
            break;
        }
    }
    let mut call = b.ns_script(&SCRIPTS.migrate_entries, &[b.keys.old("schedules"), b.keys.old("entries")]);
    call.arg(b.keys.prefix());
    let _: i64 = b.link.invoke(&call).await?;
    Ok(())
}

/// One job as `export.lua` reads it: id, queue, packed record, then its
/// scores in index, done, delayed, leases and failed.
type Exported = (String, String, Vec<u8>, String, String, String, String, String);

/// Version 2 to 3: every job to its queue's slot, then the namespace's
/// keys of version 2 that no job needs any more deleted.
async fn to_version_3(b: &RedisBroker, lock: &str, token: &str) -> Result<(), BrokerError> {
    let sets: Vec<String> =
        ["index", "jobs", "done", "delayed", "leases", "failed"].iter().map(|k| b.keys.old(k)).collect();
    loop {
        let mut renew = b.ns_script(&SCRIPTS.renew, &[lock.to_string()]);
        renew.arg(token).arg(LOCK);
        if b.link.invoke::<i64>(&renew).await? != 1 {
            return Err(BrokerError::Protocol("moving the namespace to the new key layout: lost the lock".into()));
        }
        let mut call = b.ns_script(&SCRIPTS.export, &sets);
        call.arg(MOVE);
        let jobs: Vec<Exported> = b.link.invoke(&call).await?;
        if jobs.is_empty() {
            break;
        }
        let mut by_queue: BTreeMap<&str, Vec<&Exported>> = BTreeMap::new();
        for job in jobs.iter().filter(|j| !j.1.is_empty()) {
            by_queue.entry(job.1.as_str()).or_default().push(job);
        }
        for (queue, share) in by_queue {
            let mut call = b.script(&SCRIPTS.import, queue);
            for (id, _, packed, index, done, delayed, leases, failed) in share {
                call.arg(id).arg(packed).arg(index).arg(done).arg(delayed).arg(leases).arg(failed);
            }
            if b.link.invoke::<i64>(&call).await? == 0 {
                queues::register(b, queue).await?;
            }
        }
        let mut call = b.ns_script(&SCRIPTS.drop, &sets);
        for job in &jobs {
            call.arg(&job.0);
        }
        let _: i64 = b.link.invoke(&call).await?;
    }
    let listed: Vec<String> = b.link.query(redis::cmd("SMEMBERS").arg(b.keys.queues())).await?;
    let limited: Vec<String> = b.link.query(redis::cmd("SMEMBERS").arg(b.keys.old("limited"))).await?;
    let mut gone = vec![b.keys.old("grants"), b.keys.old("limited")];
    gone.extend(listed.iter().map(|q| b.keys.old_pending(q)));
    for name in &limited {
        gone.push(b.keys.old(&format!("conc:{name}")));
        gone.push(b.keys.old(&format!("blocked:{name}")));
    }
    for key in gone {
        let _: i64 = b.link.query(redis::cmd("DEL").arg(key)).await?;
    }
    Ok(())
}
