//! Enqueueing, and the unique keys that span queues.
//!
//! A unique key is the namespace's (SPEC §4: the queue is not part of it),
//! so its claim lives in the namespace's slot while the job goes into its
//! queue's. The three steps, each safe to repeat:
//! 1. claim the key (`claim.lua`: set if free, as pending, with the
//!    window as its ttl); a key held by a confirmed claim, or by a pending
//!    one whose job is in its queue, makes the job a duplicate of the holder;
//! 2. enqueue the job in its queue's slot;
//! 3. confirm the claim (`settle.lua`), which then holds for the window
//!    whatever happens to the job.
//!
//! A claimer that dies between 1 and 2 leaves a pending claim and no job: a
//! later enqueue with that key waits for it, up to `CLAIM_GRACE` after it
//! was made, and then takes it over. A claimer that was only slow, and finds
//! at 3 its claim taken over, revokes the job it enqueued and answers with
//! the new holder: one of the two runs, never both (unless a worker started
//! the slow one's job within that moment).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::future::try_join_all;

use super::fields::job_args;
use super::{RedisBroker, SCRIPTS, queues};
use crate::broker::{BrokerError, Enqueued};
use crate::job::{JobId, NewJob};

/// Jobs per `enqueue.lua` call: large enough to amortise the round trip,
/// small enough not to stall the server.
const ENQUEUE_CHUNK: usize = 1000;

/// How long a pending claim is waited for before it is taken over: far
/// longer than the claimer's enqueue takes (a round trip), short enough
/// that an enqueue with the key of a crashed one does not hang.
pub(super) const CLAIM_GRACE: Duration = Duration::from_secs(10);

/// How often a pending claim is looked at again while it is waited for.
const CLAIM_POLL: Duration = Duration::from_millis(50);

/// Who holds a unique key, as `claim.lua` answers.
#[derive(Debug, PartialEq, Eq)]
struct Holder {
    id: String,
    /// Pending: when it was claimed (ms) and the holder's queue.
    pending: Option<(i64, String)>,
}

impl Holder {
    fn parse(text: &str) -> Holder {
        let parts: Vec<&str> = text.split(' ').collect();
        match parts.as_slice() {
            ["p", at, id, queue] => {
                Holder { id: (*id).to_string(), pending: Some((at.parse().unwrap_or(0), (*queue).to_string())) }
            }
            ["c", _, id, _] => Holder { id: (*id).to_string(), pending: None },
            // a claim of an earlier taskq: the bare id, confirmed
            _ => Holder { id: text.to_string(), pending: None },
        }
    }
}

fn key(job: &NewJob) -> Option<&str> {
    job.unique.as_ref().map(|u| u.key.as_str())
}

/// Claims the unique keys of `jobs`: per job, `None` if it may go in (the
/// key is now its own, pending), or the id holding its key.
pub(super) async fn claim(b: &RedisBroker, jobs: &[&NewJob]) -> Result<Vec<Option<JobId>>, BrokerError> {
    let mut out: Vec<Option<JobId>> = vec![None; jobs.len()];
    // (job, the claim expected at its key: "" for none)
    let mut todo: Vec<(usize, String)> =
        (0..jobs.len()).filter(|&i| key(jobs[i]).is_some()).map(|i| (i, String::new())).collect();
    let mut mine: HashMap<&str, String> = HashMap::new();
    let deadline = tokio::time::Instant::now() + CLAIM_GRACE + Duration::from_secs(2);
    while !todo.is_empty() {
        let keys: Vec<String> = todo.iter().filter_map(|(i, _)| key(jobs[*i])).map(|k| b.keys.unique(k)).collect();
        let mut call = b.ns_script(&SCRIPTS.claim, &keys);
        for (i, expected) in &todo {
            let (job, window) = (jobs[*i], jobs[*i].unique.as_ref().map_or(0, |u| super::fields::ms(u.window)));
            call.arg(job.id.to_string()).arg(job.queue.as_str()).arg(window.max(1)).arg(expected);
        }
        let reply: Vec<String> = b.link.invoke(&call).await?;
        let now: i64 = reply.first().and_then(|n| n.parse().ok()).unwrap_or(0);
        let mut again = Vec::new();
        let mut wait = false;
        for ((i, _), answer) in todo.iter().zip(reply.iter().skip(1)) {
            let k = key(jobs[*i]).unwrap_or_default();
            if answer == "claimed" {
                mine.insert(k, jobs[*i].id.to_string());
                continue;
            }
            let holder = Holder::parse(answer);
            let earlier_here = mine.get(k) == Some(&holder.id);
            match &holder.pending {
                Some((at, queue)) if !earlier_here => {
                    let jobs_key = b.keys.queue(queue).key("jobs");
                    let there: bool = b.link.query(redis::cmd("HEXISTS").arg(jobs_key).arg(&holder.id)).await?;
                    if there {
                        // its job is in: confirmed here too (its enqueuer is
                        // about to, or died before it could; either way once)
                        out[*i] = Some(holder.id.parse().map_err(BrokerError::Protocol)?);
                        settle_keys(b, &[(k, holder.id.as_str())], "confirm").await?;
                    } else if now - at > super::fields::ms(CLAIM_GRACE) as i64 {
                        // its enqueuer died before its job went in: taken over
                        again.push((*i, answer.clone()));
                    } else {
                        again.push((*i, String::new()));
                        wait = true;
                    }
                }
                _ => out[*i] = Some(holder.id.parse().map_err(BrokerError::Protocol)?),
            }
        }
        todo = again;
        if wait {
            if tokio::time::Instant::now() > deadline {
                return Err(BrokerError::Protocol("a unique key's claim stayed pending past its grace".into()));
            }
            tokio::time::sleep(CLAIM_POLL).await;
        }
    }
    Ok(out)
}

/// Confirms (`confirm`) or releases the claims `jobs` made. Per job: `None`
/// when done, or the id that holds its key instead (taken over meanwhile).
pub(super) async fn settle(
    b: &RedisBroker,
    jobs: &[&NewJob],
    confirm: bool,
) -> Result<Vec<Option<JobId>>, BrokerError> {
    let ids: Vec<String> = jobs.iter().map(|j| j.id.to_string()).collect();
    let keyed: Vec<(&str, &str)> = jobs.iter().zip(&ids).filter_map(|(j, id)| Some((key(j)?, id.as_str()))).collect();
    let answers = settle_keys(b, &keyed, if confirm { "confirm" } else { "release" }).await?;
    let mut answers = answers.into_iter();
    jobs.iter()
        .map(|j| match key(j).and_then(|_| answers.next()) {
            Some(answer) if answer != "ok" && !answer.is_empty() => {
                Holder::parse(&answer).id.parse().map(Some).map_err(BrokerError::Protocol)
            }
            _ => Ok(None),
        })
        .collect()
}

/// `settle.lua` on (key, id) pairs, all in one `mode`; its answers.
async fn settle_keys(b: &RedisBroker, claims: &[(&str, &str)], mode: &str) -> Result<Vec<String>, BrokerError> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = claims.iter().map(|(k, _)| b.keys.unique(k)).collect();
    let mut call = b.ns_script(&SCRIPTS.settle, &keys);
    for (_, id) in claims {
        call.arg(mode).arg(*id);
    }
    b.link.invoke(&call).await
}

/// Enqueues `jobs`: their unique keys claimed first, each queue's share in
/// its own calls (in the order given), then the claims confirmed.
pub(super) async fn enqueue(b: &RedisBroker, jobs: &[NewJob]) -> Result<Vec<Enqueued>, BrokerError> {
    let all: Vec<&NewJob> = jobs.iter().collect();
    let holders = claim(b, &all).await?;
    let mut by_queue: BTreeMap<&str, Vec<&NewJob>> = BTreeMap::new();
    for (job, holder) in jobs.iter().zip(&holders) {
        if holder.is_none() {
            by_queue.entry(job.queue.as_str()).or_default().push(job);
        }
    }
    let fresh: Vec<&NewJob> = jobs.iter().zip(&holders).filter(|(_, h)| h.is_none()).map(|(j, _)| j).collect();
    // Each queue is its own slot (on a cluster, maybe its own master): the
    // queues' shares go in at once, each in order. On an error the claims
    // stay pending: whether the jobs went in is unknown, so an enqueue again
    // finds its job there (a duplicate), or waits out the grace and takes
    // the claim over.
    try_join_all(by_queue.iter().map(|(queue, share)| async move {
        for chunk in share.chunks(ENQUEUE_CHUNK) {
            add(b, queue, chunk).await?;
        }
        Ok::<_, BrokerError>(())
    }))
    .await?;
    let taken_over = settle(b, &fresh, true).await?;
    let mut replaced: HashMap<JobId, JobId> = HashMap::new();
    for (job, holder) in fresh.iter().zip(taken_over) {
        if let Some(holder) = holder {
            super::admin::revoke(b, job.id, false).await?;
            replaced.insert(job.id, holder);
        }
    }
    Ok(jobs
        .iter()
        .zip(holders)
        .map(|(job, holder)| match holder.or_else(|| replaced.get(&job.id).copied()) {
            Some(id) => Enqueued { id, duplicate: true },
            None => Enqueued { id: job.id, duplicate: false },
        })
        .collect())
}

/// Stores `jobs` (all of `queue`) with one script call, listing the queue
/// if it is new.
pub(super) async fn add(b: &RedisBroker, queue: &str, jobs: &[&NewJob]) -> Result<(), BrokerError> {
    b.queues.note(queue);
    b.wake.touched(queue);
    let mut call = b.script(&SCRIPTS.enqueue, queue);
    for job in jobs {
        call.arg(job_args(job)?);
    }
    let reply: Vec<String> = b.link.invoke(&call).await?;
    // A few jobs may be waited for or read next (`enqueue --wait`).
    if jobs.len() <= 16 {
        for job in jobs {
            b.queues.located(&job.id.to_string(), queue);
        }
    }
    // The jobs are in: a queue left unlisted is listed by its next enqueue
    // or by a process using it, so this enqueue has succeeded.
    if reply.first().map(String::as_str) == Some("0")
        && let Err(error) = queues::register(b, queue).await
    {
        tracing::warn!(%error, queue, "the queue could not be listed yet");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Holder;

    #[test]
    fn a_claim_reads_as_its_holder_pending_or_confirmed() {
        assert_eq!(Holder::parse("p 1700 abc mail"), Holder { id: "abc".into(), pending: Some((1700, "mail".into())) });
        assert_eq!(Holder::parse("c 1700 abc mail"), Holder { id: "abc".into(), pending: None });
        assert_eq!(Holder::parse("0190aa"), Holder { id: "0190aa".into(), pending: None }, "an earlier taskq's claim");
    }
}
