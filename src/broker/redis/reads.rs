//! Reading job records: by id (found in whichever queue holds each), and
//! newest first for `list` (each queue's index, merged).

use std::collections::HashMap;

use futures_util::future::try_join_all;

use super::fields::record;
use super::{RedisBroker, SCRIPTS, queues};
use crate::broker::{BrokerError, ListFilter};
use crate::job::{JobId, JobRecord};

pub(super) async fn get(b: &RedisBroker, ids: &[JobId]) -> Result<Vec<Option<JobRecord>>, BrokerError> {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let fields = fields_of(b, &ids).await?;
    ids.iter().zip(fields).map(|(id, h)| record(id, h)).collect()
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

/// The newest `filter.limit` records of `queue` that match `filter`.
async fn list_in(b: &RedisBroker, queue: &str, filter: &ListFilter) -> Result<Vec<JobRecord>, BrokerError> {
    const PAGE: isize = 200;
    let index = b.keys.queue(queue).key("index");
    let mut out = Vec::new();
    let mut start = 0isize;
    while out.len() < filter.limit {
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
