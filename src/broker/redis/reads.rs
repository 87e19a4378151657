//! Reading job records: by id, and newest first for `list`.

use std::collections::HashMap;

use super::fields::record;
use super::{RedisBroker, SCRIPTS};
use crate::broker::{BrokerError, ListFilter};
use crate::job::{JobId, JobRecord};

pub(super) async fn get(b: &RedisBroker, ids: &[JobId]) -> Result<Vec<Option<JobRecord>>, BrokerError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let fields = fields_of(b, &ids).await?;
    ids.iter().zip(fields).map(|(id, h)| record(id, h)).collect()
}

/// The fields of each job's record (empty for a job that is gone).
pub(super) async fn fields_of(b: &RedisBroker, ids: &[String]) -> Result<Vec<HashMap<String, String>>, BrokerError> {
    let mut call = b.script(&SCRIPTS.read, b.keys.done());
    for id in ids {
        call.arg(id);
    }
    b.link.invoke(&call).await
}

pub(super) async fn list(b: &RedisBroker, filter: &ListFilter) -> Result<Vec<JobRecord>, BrokerError> {
    const PAGE: isize = 200;
    let mut out = Vec::new();
    let mut start = 0isize;
    while out.len() < filter.limit {
        let ids: Vec<String> =
            b.link.query(redis::cmd("ZREVRANGE").arg(b.keys.index()).arg(start).arg(start + PAGE - 1)).await?;
        if ids.is_empty() {
            break;
        }
        start += PAGE;
        let fields = fields_of(b, &ids).await?;
        for rec in ids.iter().zip(fields).map(|(id, h)| record(id, h)) {
            let Some(rec) = rec? else { continue };
            let keep = filter.state.is_none_or(|s| s == rec.state)
                && filter.queue.as_ref().is_none_or(|q| *q == rec.job.queue)
                && filter.job.as_ref().is_none_or(|j| *j == rec.job.job);
            if keep && out.len() < filter.limit {
                out.push(rec);
            }
        }
    }
    Ok(out)
}
