//! Reading job records: by id (found in whichever queue holds each), by the
//! start of their id, and newest first for `list` (each queue's index,
//! merged).

use std::collections::{BTreeSet, HashMap};

use futures_util::future::try_join_all;

use super::fields::{record, tombstone};
use super::{RedisBroker, SCRIPTS, queues};
use crate::broker::{BrokerError, ListFilter, Tombstone};
use crate::job::{IdPrefix, JobId, JobRecord, JobState};

pub(super) async fn get(b: &RedisBroker, ids: &[JobId]) -> Result<Vec<Option<JobRecord>>, BrokerError> {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let fields = fields_of(b, &ids).await?;
    ids.iter().zip(fields).map(|(id, h)| record(id, h)).collect()
}

/// Tombstones are kept where the record was (finish.lua), found and read
/// the same way.
pub(super) async fn tombstones(b: &RedisBroker, ids: &[JobId]) -> Result<Vec<Option<Tombstone>>, BrokerError> {
    let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let fields = fields_of(b, &names).await?;
    ids.iter().zip(fields).map(|(id, h)| tombstone(*id, &h)).collect()
}

/// The fields of each job's record (empty for a job that is gone).
pub(super) async fn fields_of(b: &RedisBroker, ids: &[String]) -> Result<Vec<HashMap<String, String>>, BrokerError> {
    let mut out = vec![HashMap::new(); ids.len()];
    for (queue, share) in queues::group(b, ids).await? {
        let names: Vec<&str> = share.iter().map(|(_, id)| id.as_str()).collect();
        for ((i, _), fields) in share.iter().zip(fields_in(b, &queue, &names).await?) {
            out[*i] = fields;
        }
    }
    Ok(out)
}

/// The fields of each job's record in `queue` (empty: not there).
pub(super) async fn fields_in(
    b: &RedisBroker,
    queue: &str,
    ids: &[&str],
) -> Result<Vec<HashMap<String, String>>, BrokerError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut call = b.script(&SCRIPTS.read, queue);
    for id in ids {
        call.arg(*id);
    }
    b.link.invoke(&call).await
}

/// Hash fields one HSCAN call looks at: few round trips for a large queue,
/// and a short call for the server, which serves workers meanwhile.
const SCAN_COUNT: usize = 1000;

/// Ids of the jobs in any queue, and of the runs, that start with `prefix`.
/// Records are fields of their queue's `jobs` hash (runs, of the `runs`
/// hash), so each hash is HSCANned with MATCH in its own slot: a cluster
/// sends each call to the master that holds it, and no keyspace is walked.
/// A record (or tombstone) past its ttl that maintenance has not swept yet
/// is left out, as `get` leaves it.
pub(super) async fn find_ids(b: &RedisBroker, prefix: &IdPrefix, limit: usize) -> Result<Vec<JobId>, BrokerError> {
    let pattern = format!("{prefix}*");
    let mut out = BTreeSet::new();
    for queue in b.queues.all(b).await? {
        let found = scan(b, &b.keys.queue(&queue).key("jobs"), &pattern, limit.saturating_sub(out.len())).await?;
        let names: Vec<&str> = found.iter().map(String::as_str).collect();
        for (id, fields) in found.iter().zip(fields_in(b, &queue, &names).await?) {
            if let (false, Ok(id)) = (fields.is_empty(), id.parse::<JobId>()) {
                out.insert(id);
            }
        }
    }
    if out.len() < limit {
        let runs = scan(b, &b.runs_key("runs"), &pattern, limit - out.len()).await?;
        out.extend(runs.iter().filter_map(|id| id.parse::<JobId>().ok()));
    }
    Ok(out.into_iter().take(limit).collect())
}

/// The fields of `hash` that match `pattern`: all of them, or once `enough`
/// are found, those found so far (a scan may repeat one).
async fn scan(b: &RedisBroker, hash: &str, pattern: &str, enough: usize) -> Result<BTreeSet<String>, BrokerError> {
    let mut out = BTreeSet::new();
    if enough == 0 {
        return Ok(out);
    }
    let mut cursor = 0u64;
    loop {
        let (next, pairs): (u64, Vec<Vec<u8>>) = b
            .link
            .query(redis::cmd("HSCAN").arg(hash).arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(SCAN_COUNT))
            .await?;
        // Field, value, field, value...: the values are records, not read here.
        out.extend(pairs.iter().step_by(2).map(|field| String::from_utf8_lossy(field).into_owned()));
        if next == 0 || out.len() >= enough {
            break;
        }
        cursor = next;
    }
    Ok(out)
}

/// Newest first: each queue's newest that match, merged by enqueue time.
pub(super) async fn list(b: &RedisBroker, filter: &ListFilter) -> Result<Vec<JobRecord>, BrokerError> {
    let queues = match &filter.queue {
        Some(q) => vec![q.to_string()],
        None => b.queues.all(b).await?,
    };
    let per_queue = try_join_all(queues.iter().map(|q| list_in(b, q, filter))).await?;
    let mut out: Vec<JobRecord> = per_queue.into_iter().flatten().collect();
    out.sort_by(|a, b| b.enqueued_at.cmp(&a.enqueued_at).then_with(|| b.job.id.cmp(&a.job.id)));
    out.truncate(filter.limit);
    Ok(out)
}

/// The newest `filter.limit` records of `queue` that match `filter`. A
/// state with a set of its own is looked for there rather than among every
/// job of the queue (failed ones among 100,000 done): newest first by that
/// set's order (failure time, lease expiry, due time, result expiry),
/// which `list` then orders by enqueue time.
async fn list_in(b: &RedisBroker, queue: &str, filter: &ListFilter) -> Result<Vec<JobRecord>, BrokerError> {
    const PAGE: isize = 200;
    let set = match filter.state {
        Some(JobState::Failed) => "failed",
        Some(JobState::Running) => "leases",
        Some(JobState::Scheduled | JobState::Retrying) => "delayed",
        Some(JobState::Succeeded | JobState::Revoked | JobState::Expired) => "done",
        Some(JobState::Queued) | None => "index",
    };
    let index = b.keys.queue(queue).key(set);
    let mut out = Vec::new();
    let mut start = 0isize;
    while out.len() < filter.limit && filter.scan.is_none_or(|most| start < most as isize) {
        let ids: Vec<String> =
            b.link.query(redis::cmd("ZREVRANGE").arg(&index).arg(start).arg(start + PAGE - 1)).await?;
        if ids.is_empty() {
            break;
        }
        start += PAGE;
        let names: Vec<&str> = ids.iter().map(String::as_str).collect();
        let fields = fields_in(b, queue, &names).await?;
        for rec in ids.iter().zip(fields).map(|(id, h)| record(id, h)) {
            let Some(rec) = rec? else { continue };
            let keep =
                filter.state.is_none_or(|s| s == rec.state) && filter.job.as_ref().is_none_or(|j| *j == rec.job.job);
            if keep && out.len() < filter.limit {
                out.push(rec);
            }
        }
    }
    Ok(out)
}
