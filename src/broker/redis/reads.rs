//! Reading job records: by id, and newest first for `list`.

use std::collections::HashMap;

use super::RedisBroker;
use super::fields::record;
use crate::broker::{BrokerError, ListFilter};
use crate::job::{JobId, JobRecord};

pub(super) async fn get(b: &RedisBroker, ids: &[JobId]) -> Result<Vec<Option<JobRecord>>, BrokerError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.hgetall(b.keys.job(&id.to_string()));
    }
    let hashes: Vec<HashMap<String, String>> = b.link.pipe(&pipe).await?;
    ids.iter().zip(hashes).map(|(id, h)| record(&id.to_string(), h)).collect()
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
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(b.keys.job(id));
        }
        let hashes: Vec<HashMap<String, String>> = b.link.pipe(&pipe).await?;
        for rec in ids.iter().zip(hashes).map(|(id, h)| record(id, h)) {
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
