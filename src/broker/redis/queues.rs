//! The namespace's queues. Each queue is its own slot, so whatever spans
//! queues (maintenance, reading a job by id, listing) walks them: the ones
//! `{ns}:queues` lists, and the ones this process served or used, which it
//! maintains even before they are listed. An enqueue whose queue is not
//! marked known (`{ns/q}:known`, read by the enqueue script) lists it and
//! then marks it, for an hour: a crash between the two, or a listing lost
//! with a failed-over master, only lists it again at a later enqueue. A
//! process also lists again the queues it uses, every minute.
//!
//! Reads across queues go one queue at a time, concurrently: a cluster
//! refuses a pipeline whose commands name keys of different slots.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::try_join_all;

use super::{RedisBroker, lock};
use crate::broker::BrokerError;

/// How long a read of `{ns}:queues` serves; a queue this process uses is
/// in its own list at once.
const LISTED_FOR: Duration = Duration::from_secs(2);

/// How long a queue stays marked known (then an enqueue lists it again).
const KNOWN_FOR: Duration = Duration::from_secs(3600);

/// What maintenance does to a queue.
#[derive(Clone, Copy)]
pub(super) enum Upkeep {
    Forward = 0,
    Recover = 1,
}

/// How often maintenance keeps up every queue, not only those served here.
const ALL_EVERY: Duration = Duration::from_secs(10);

/// How often a process lists again the queues it uses.
const RELIST_EVERY: Duration = Duration::from_secs(60);

/// The queues this process knows of.
#[derive(Default)]
pub(super) struct Known {
    state: Mutex<Queues>,
}

#[derive(Default)]
struct Queues {
    /// Used here: enqueued on, taken from, fired on.
    seen: BTreeSet<String>,
    /// Taken from here, and when every queue was last kept up (forwarding
    /// due jobs, and recovering lapsed ones: `Upkeep`).
    served: BTreeSet<String>,
    all_kept: [Option<Instant>; 2],
    /// The namespace's list as last read, and when; when `seen` was last listed.
    listed: Option<(Instant, BTreeSet<String>)>,
    relisted: Option<Instant>,
    /// Jobs' queues found or used here (a job never changes queue).
    located: HashMap<String, String>,
}

/// Jobs whose queue a process remembers, at most.
const LOCATED_MAX: usize = 10_000;

impl Known {
    /// Remembers that job `id` is on `queue`.
    pub(super) fn located(&self, id: &str, queue: &str) {
        let mut s = lock(&self.state);
        if s.located.len() >= LOCATED_MAX {
            s.located.clear();
        }
        s.located.insert(id.to_string(), queue.to_string());
    }

    /// A take asked `queue`.
    pub(super) fn serve(&self, queue: &str) {
        let mut s = lock(&self.state);
        if !s.served.contains(queue) {
            s.served.insert(queue.to_string());
            s.seen.insert(queue.to_string());
        }
    }

    /// The queues maintenance keeps up this round: those served here (a
    /// worker keeps up its own queues every second), and every queue of the
    /// namespace every `ALL_EVERY`, or always where none is served here. A
    /// queue's due jobs, lapsed leases and hook outbox matter to the
    /// workers serving it, which keep it up; the rounds over every queue
    /// catch the rest.
    pub(super) async fn upkeep(&self, b: &RedisBroker, kind: Upkeep) -> Result<Vec<String>, BrokerError> {
        let served = {
            let mut s = lock(&self.state);
            let kept = &mut s.all_kept[kind as usize];
            let all_due = kept.is_none_or(|at| at.elapsed() >= ALL_EVERY);
            if all_due {
                *kept = Some(Instant::now());
            }
            if all_due || s.served.is_empty() { None } else { Some(s.served.iter().cloned().collect()) }
        };
        match served {
            Some(served) => Ok(served),
            None => self.all(b).await,
        }
    }

    pub(super) fn note(&self, queue: &str) {
        let mut s = lock(&self.state);
        if !s.seen.contains(queue) {
            s.seen.insert(queue.to_string());
        }
    }

    /// Every queue of the namespace: listed (read at most every
    /// `LISTED_FOR`), or used here. The ones used here are listed again
    /// every `RELIST_EVERY`.
    pub(super) async fn all(&self, b: &RedisBroker) -> Result<Vec<String>, BrokerError> {
        let (fresh, relist) = {
            let s = lock(&self.state);
            let fresh = s.listed.as_ref().filter(|(at, _)| at.elapsed() < LISTED_FOR).map(|(_, l)| l.clone());
            let due = s.relisted.is_none_or(|at| at.elapsed() >= RELIST_EVERY) && !s.seen.is_empty();
            (fresh, due.then(|| s.seen.clone()))
        };
        if let Some(seen) = relist {
            let _: i64 =
                b.link.query(redis::cmd("SADD").arg(b.keys.queues()).arg(seen.iter().collect::<Vec<_>>())).await?;
            lock(&self.state).relisted = Some(Instant::now());
        }
        let listed = if let Some(listed) = fresh {
            listed
        } else {
            let listed: BTreeSet<String> = b.link.query(redis::cmd("SMEMBERS").arg(b.keys.queues())).await?;
            lock(&self.state).listed = Some((Instant::now(), listed.clone()));
            listed
        };
        let mut all = listed;
        all.extend(lock(&self.state).seen.iter().cloned());
        Ok(all.into_iter().collect())
    }
}

/// Lists `queue` in `{ns}:queues`, then marks it known in its own slot.
pub(super) async fn register(b: &RedisBroker, queue: &str) -> Result<(), BrokerError> {
    let _: i64 = b.link.query(redis::cmd("SADD").arg(b.keys.queues()).arg(queue)).await?;
    let known = b.keys.queue(queue).key("known");
    let _: () = b.link.query(redis::cmd("SET").arg(known).arg(1).arg("PX").arg(KNOWN_FOR.as_millis() as u64)).await?;
    Ok(())
}

/// The queue holding each job (`None`: no queue does): remembered, or
/// looked for in every queue. Ids not found in the queues as last listed
/// are looked for again in a fresh listing: a long-running process (taskq
/// web) is asked of jobs on queues created since.
pub(super) async fn locate(b: &RedisBroker, ids: &[String]) -> Result<Vec<Option<String>>, BrokerError> {
    let mut out: Vec<Option<String>> = {
        let s = lock(&b.queues.state);
        ids.iter().map(|id| s.located.get(id).cloned()).collect()
    };
    let mut searched: BTreeSet<String> = BTreeSet::new();
    for round in 0..2 {
        let unknown: Vec<usize> = (0..ids.len()).filter(|&i| out[i].is_none()).collect();
        if unknown.is_empty() {
            break;
        }
        if round == 1 {
            lock(&b.queues.state).listed = None;
        }
        let queues: Vec<String> = b.queues.all(b).await?.into_iter().filter(|q| searched.insert(q.clone())).collect();
        if queues.is_empty() {
            break;
        }
        let per_queue = try_join_all(queues.iter().map(|q| {
            let unknown = &unknown;
            async move {
                let mut pipe = redis::pipe();
                let jobs = b.keys.queue(q).key("jobs");
                for &i in unknown {
                    pipe.hexists(&jobs, ids[i].as_str());
                }
                b.link.pipe::<Vec<bool>>(&pipe).await
            }
        }))
        .await?;
        for (n, &i) in unknown.iter().enumerate() {
            let queue = queues.iter().zip(&per_queue).find(|(_, there)| there.get(n) == Some(&true)).map(|(q, _)| q);
            if let Some(q) = queue {
                b.queues.located(&ids[i], q);
                out[i] = Some(q.clone());
            }
        }
    }
    Ok(out)
}

/// `ids` grouped by the queue holding each, with their places in `ids`;
/// the places of ids no queue holds are left out.
pub(super) async fn group(
    b: &RedisBroker,
    ids: &[String],
) -> Result<HashMap<String, Vec<(usize, String)>>, BrokerError> {
    let mut groups: HashMap<String, Vec<(usize, String)>> = HashMap::new();
    for (i, (id, queue)) in ids.iter().zip(locate(b, ids).await?).enumerate() {
        if let Some(q) = queue {
            groups.entry(q).or_default().push((i, id.clone()));
        }
    }
    Ok(groups)
}
