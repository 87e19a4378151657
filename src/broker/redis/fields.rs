//! A job in Redis: the fields its request is stored as (the scripts pack a
//! job's fields into one field of `{ns/q}:jobs`, lib.lua), the encoding the
//! scripts' `add()` reads, and the way back to `NewJob` and `JobRecord`.

use std::collections::HashMap;
use std::time::Duration;

use crate::broker::{BrokerError, Lease, Take, Tombstone};
use crate::job::{BrokerPolicy, DEFAULT_MAX_REDELIVERIES, Delay, JobId, JobRecord, JobState, NewJob, UniqueKey};
use crate::names::{JobName, QueueName};
use crate::time::{from_ms, to_ms};

pub(super) fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

pub(super) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What `take()` (lib.lua) answered.
pub(super) enum Taken {
    Lease(Box<Lease>),
    Nothing,
    /// It stopped at its step bound: ask again.
    More,
}

/// The reply of `take()` for `take`: `{id, attempt, request fields}` (as
/// field/value pairs), nil, or 'more'.
pub(super) fn taken(reply: redis::Value, take: &Take<'_>) -> Result<Taken, BrokerError> {
    match &reply {
        redis::Value::Nil => return Ok(Taken::Nothing),
        redis::Value::BulkString(b) if b == b"more" => return Ok(Taken::More),
        redis::Value::SimpleString(s) if s == "more" => return Ok(Taken::More),
        _ => {}
    }
    let convert = |e: redis::ParsingError| BrokerError::Protocol(format!("taking a job: {e}"));
    let parts: Vec<redis::Value> = redis::from_redis_value(reply).map_err(convert)?;
    let [id, attempt, fields]: [redis::Value; 3] =
        parts.try_into().map_err(|_| BrokerError::Protocol("taking a job: a reply of unexpected shape".into()))?;
    let id: String = redis::from_redis_value(id).map_err(convert)?;
    let attempt: u32 = redis::from_redis_value(attempt).map_err(convert)?;
    let fields: HashMap<String, String> = redis::from_redis_value(fields).map_err(convert)?;
    let job = request_from(&id, &fields)?;
    Ok(Taken::Lease(Box::new(Lease { job, attempt, worker: take.worker.to_string(), grant: take.grant.to_string() })))
}

/// A delay as `add()` reads it: "+ms" after now, "@ms" at that instant.
fn delay_arg(delay: Option<Delay>) -> String {
    match delay {
        None => String::new(),
        Some(Delay::For(d)) => format!("+{}", ms(d)),
        Some(Delay::Until(t)) => format!("@{}", to_ms(t)),
    }
}

fn delay_from(text: &str) -> Option<Delay> {
    let (sign, n) = text.split_at_checked(1)?;
    let n: i64 = n.parse().ok()?;
    match sign {
        "+" => Some(Delay::For(Duration::from_millis(n.max(0) as u64))),
        "@" => Some(Delay::Until(from_ms(n))),
        _ => None,
    }
}

/// A job as `add()` in lib.lua reads it: id, delay, expires, then the
/// count and the pairs of its request fields (its queue is the script's,
/// its unique key claimed apart: `unique.rs`).
pub(super) fn job_args(job: &NewJob) -> Result<Vec<String>, BrokerError> {
    let fields = request_fields(job)?;
    let mut args = vec![job.id.to_string(), delay_arg(job.delay), opt(job.expires.map(ms)), fields.len().to_string()];
    for (name, value) in fields {
        args.push(name.to_string());
        args.push(value);
    }
    Ok(args)
}

/// A hook job as an outbox holds it (`outbox.rs`): its id and request
/// fields, queue included, as JSON.
pub(super) fn outbox_entry(job: &NewJob) -> Result<String, BrokerError> {
    let mut fields: HashMap<&str, String> = request_fields(job)?.into_iter().collect();
    fields.insert("queue", job.queue.to_string());
    to_json(&serde_json::json!({ "id": job.id.to_string(), "fields": fields }))
}

/// The hook job an outbox entry holds.
pub(super) fn from_outbox(entry: &str) -> Result<NewJob, BrokerError> {
    #[derive(serde::Deserialize)]
    struct Entry {
        id: String,
        fields: HashMap<String, String>,
    }
    let entry: Entry =
        serde_json::from_str(entry).map_err(|e| BrokerError::Protocol(format!("an outbox entry: {e}")))?;
    request_from(&entry.id, &entry.fields)
}

/// A job's request as hash fields beyond the ones the scripts set (state,
/// queue, enq, due, exp, attempts, lost): small values, so Redis keeps the hash in its
/// compact encoding (one value over 64 bytes would turn it into a table).
fn to_json<T: serde::Serialize>(value: &T) -> Result<String, BrokerError> {
    serde_json::to_string(value).map_err(|e| BrokerError::Protocol(e.to_string()))
}

fn request_fields(job: &NewJob) -> Result<Vec<(&'static str, String)>, BrokerError> {
    let mut f = vec![
        ("job", job.job.to_string()),
        ("maxred", job.policy.max_redeliveries.to_string()),
        ("ttl", ms(job.policy.result_ttl).to_string()),
    ];
    if !job.args.is_empty() {
        f.push(("args", to_json(&job.args)?));
    }
    if !job.params.is_empty() {
        f.push(("params", to_json(&job.params)?));
    }
    if job.delay.is_some() {
        f.push(("delay", delay_arg(job.delay)));
    }
    if let Some(d) = job.expires {
        f.push(("expires", ms(d).to_string()));
    }
    if let Some(u) = &job.unique {
        f.push(("ukey", u.key.clone()));
        f.push(("uwin", ms(u.window).to_string()));
    }
    if let Some(n) = job.policy.max_concurrent {
        f.push(("maxconc", n.to_string()));
    }
    if let Some(s) = &job.scheduled_at {
        f.push(("sched", s.clone()));
    }
    if let Some(t) = &job.trigger {
        f.push(("trigger", to_json(t)?));
    }
    if let Some(w) = &job.workflow {
        f.push(("wf", to_json(w)?));
    }
    Ok(f)
}

/// A JSON field of a job hash, if present.
fn from_json<T: serde::de::DeserializeOwned>(
    fields: &HashMap<String, String>,
    id: &str,
    key: &str,
) -> Result<Option<T>, BrokerError> {
    let Some(text) = fields.get(key).filter(|v| !v.is_empty()) else { return Ok(None) };
    serde_json::from_str(text)
        .map(Some)
        .map_err(|_| BrokerError::Protocol(format!("job {id}: unreadable field \"{key}\"")))
}

/// The request back from a job hash.
fn request_from(id: &str, fields: &HashMap<String, String>) -> Result<NewJob, BrokerError> {
    let bad = |what: &str| BrokerError::Protocol(format!("job {id}: unreadable field \"{what}\""));
    let get = |k: &str| fields.get(k).filter(|v| !v.is_empty());
    let int = |k: &str| get(k).map(|v| v.parse::<i64>().map_err(|_| bad(k))).transpose();
    Ok(NewJob {
        id: id.parse().map_err(BrokerError::Protocol)?,
        job: JobName::new(get("job").ok_or_else(|| bad("job"))?).map_err(|_| bad("job"))?,
        args: from_json(fields, id, "args")?.unwrap_or_default(),
        params: from_json(fields, id, "params")?.unwrap_or_default(),
        queue: QueueName::new(get("queue").ok_or_else(|| bad("queue"))?).map_err(|_| bad("queue"))?,
        delay: get("delay").and_then(|d| delay_from(d)),
        expires: int("expires")?.map(|d| Duration::from_millis(d.max(0) as u64)),
        unique: match (get("ukey"), int("uwin")?) {
            (Some(key), Some(window)) => {
                Some(UniqueKey { key: key.clone(), window: Duration::from_millis(window.max(0) as u64) })
            }
            _ => None,
        },
        scheduled_at: get("sched").cloned(),
        trigger: from_json(fields, id, "trigger")?,
        workflow: from_json(fields, id, "wf")?,
        policy: BrokerPolicy {
            max_redeliveries: int("maxred")?.map_or(DEFAULT_MAX_REDELIVERIES, |n| n.max(0) as u32),
            max_concurrent: int("maxconc")?.map(|n| n.max(1) as u32),
            result_ttl: Duration::from_millis(int("ttl")?.unwrap_or(0).max(0) as u64),
        },
    })
}

/// A job hash as a record; `None` when the hash is gone.
/// What an `ignore_result` job left in its record's place (finish.lua);
/// `None` for a record, or nothing.
pub(super) fn tombstone(id: JobId, fields: &HashMap<String, String>) -> Result<Option<Tombstone>, BrokerError> {
    if !fields.contains_key("gone") {
        return Ok(None);
    }
    let bad = |what: &str| BrokerError::Protocol(format!("the tombstone of {id}: {what}"));
    let job = JobName::new(fields.get("job").map_or("", String::as_str)).map_err(|e| bad(&e))?;
    let finished = fields.get("finished").and_then(|v| v.parse::<i64>().ok()).ok_or_else(|| bad("no finish time"))?;
    Ok(Some(Tombstone { id, job, finished_at: from_ms(finished) }))
}

pub(super) fn record(id: &str, fields: HashMap<String, String>) -> Result<Option<JobRecord>, BrokerError> {
    // What an ignore_result job left (`tombstone`) is not a record.
    if fields.is_empty() || fields.contains_key("gone") {
        return Ok(None);
    }
    let get = |k: &str| fields.get(k).filter(|v| !v.is_empty());
    let int = |k: &str| get(k).and_then(|v| v.parse::<i64>().ok());
    let state: JobState =
        get("state").map(|s| s.parse()).transpose().map_err(BrokerError::Protocol)?.unwrap_or(JobState::Queued);
    Ok(Some(JobRecord {
        job: request_from(id, &fields)?,
        state,
        enqueued_at: from_ms(int("enq").unwrap_or(0)),
        expires_at: int("exp").map(from_ms),
        attempts: int("attempts").unwrap_or(0).max(0) as u32,
        due_at: int("due").map(from_ms),
        started_at: int("started").map(from_ms),
        finished_at: int("finished").map(from_ms),
        worker: get("worker").cloned(),
        exit_code: int("exit").map(|c| c as i32),
        http_status: int("http").map(|c| c as u16),
        error: get("error").cloned(),
        output: get("output").cloned(),
        output_total: int("outlen").unwrap_or(0).max(0) as u64,
        history: get("hist").map(|h| history(h)).unwrap_or_default(),
    }))
}

/// A record's past attempts, as lib.lua's `remember_attempt` writes them
/// (a JSON list; instants as ms strings). An entry it cannot read is left
/// out: the history is for people, the record stands without it.
fn history(text: &str) -> Vec<crate::job::PastAttempt> {
    let Ok(serde_json::Value::Array(entries)) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let int = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let text = |v: &serde_json::Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    entries
        .iter()
        .filter_map(|e| {
            Some(crate::job::PastAttempt {
                attempt: u32::try_from(int(&e["n"])?).ok()?,
                outcome: text(&e["outcome"])?,
                started_at: int(&e["started"]).map(from_ms),
                finished_at: int(&e["finished"]).map(from_ms),
                exit_code: int(&e["exit"]).and_then(|c| i32::try_from(c).ok()),
                http_status: int(&e["http"]).and_then(|c| u16::try_from(c).ok()),
                error: text(&e["error"]),
                worker: text(&e["worker"]),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of a record that make its request: all `request_from`
    /// reads, and all a take sends a worker (`request` in lib.lua).
    const REQUEST_FIELDS: [&str; 14] = [
        "job", "queue", "args", "params", "delay", "expires", "ukey", "uwin", "sched", "trigger", "wf", "maxred",
        "maxconc", "ttl",
    ];

    /// The list `request` in lib.lua sends a worker that takes a job.
    fn sent_by_take() -> Vec<String> {
        let lib = include_str!("scripts/lib.lua");
        let start = lib.find("local function request(r)").expect("request() in lib.lua");
        let list = &lib[start..];
        let list = &list[list.find("ipairs({").expect("its list") + "ipairs({".len()..];
        let list = &list[..list.find("})").expect("the list's end")];
        list.split(',').map(|name| name.trim().trim_matches('\'').to_string()).collect()
    }

    #[test]
    fn a_take_sends_every_field_of_the_request_and_the_request_needs_no_other() {
        assert_eq!(sent_by_take(), REQUEST_FIELDS);
        let job = NewJob {
            id: JobId::new(),
            job: JobName::new("report").unwrap(),
            args: vec!["a b".into()],
            params: [("day".to_string(), "mon".to_string())].into(),
            queue: QueueName::new("mail").unwrap(),
            delay: Some(Delay::For(Duration::from_millis(1500))),
            expires: Some(Duration::from_secs(60)),
            unique: Some(UniqueKey { key: "k1".into(), window: Duration::from_secs(30) }),
            scheduled_at: Some("2026-11-30T10:00:00+01:00".into()),
            trigger: Some(crate::job::Trigger {
                id: JobId::new(),
                job: JobName::new("backup").unwrap(),
                state: JobState::Failed,
                exit_code: Some(3),
                output: "tail".into(),
            }),
            workflow: Some(crate::job::WorkflowStep {
                run: JobId::new(),
                workflow: JobName::new("nightly").unwrap(),
                step: 2,
            }),
            policy: BrokerPolicy { max_redeliveries: 5, max_concurrent: Some(2), result_ttl: Duration::from_secs(90) },
        };
        let mut record: HashMap<String, String> =
            request_fields(&job).unwrap().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        // add() in lib.lua stores the queue, and a take adds its own fields.
        record.insert("queue".into(), "mail".into());
        for (k, v) in [("state", "running"), ("attempts", "1"), ("worker", "w1"), ("grant", "g1"), ("enq", "1")] {
            record.insert(k.into(), v.into());
        }
        let sent: HashMap<String, String> =
            record.into_iter().filter(|(k, _)| REQUEST_FIELDS.contains(&k.as_str())).collect();
        assert_eq!(request_from(&job.id.to_string(), &sent).unwrap(), job);
    }
}
