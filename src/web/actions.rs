//! What an operator may do, for the JSON API and the dashboard's buttons
//! alike: retry, revoke, purge, and pause, resume or trigger a schedule.
//! Each answers a status and a JSON body whose `message` says what
//! happened in the command line's words.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{ApiError, Web};
use crate::broker::Purge;
use crate::control::revoke::Revoked;
use crate::control::schedules;
use crate::job::JobId;

/// What an action did.
pub(crate) struct Done {
    pub status: StatusCode,
    pub message: String,
    pub body: Value,
}

impl Done {
    fn ok(message: String, mut body: Value) -> Done {
        body["message"] = Value::String(message.clone());
        Done { status: StatusCode::OK, message, body }
    }
}

/// Retries failed job `id`, or every failed job (`None`).
pub(crate) async fn retry(web: &Web, id: Option<JobId>) -> Result<Done, ApiError> {
    let ids = id.map(|id| vec![id]);
    let done = crate::control::retry(web.broker.as_ref(), ids.as_deref()).await?;
    if let Some(e) = done.error() {
        return Err(ApiError::from_control(e));
    }
    let mut message = match (id, done.requeued.len()) {
        (_, 0) => "no failed jobs".to_string(),
        (Some(id), _) => format!("requeued {id}"),
        (None, n) => format!("requeued {n} failed job{}", if n == 1 { "" } else { "s" }),
    };
    // A workflow's step job runs again alone: the notice says so.
    for note in &done.notes {
        message.push_str(&format!("; note: {note}"));
    }
    let requeued: Vec<String> = done.requeued.iter().map(ToString::to_string).collect();
    Ok(Done::ok(message, json!({ "requeued": requeued, "notes": done.notes })))
}

/// Revokes job or workflow run `id`; a running job only with `terminate`
/// (202: its worker kills it within a second).
pub(crate) async fn revoke(web: &Web, id: JobId, terminate: bool) -> Result<Done, ApiError> {
    let config = web.config();
    let done = crate::control::revoke::revoke(web.broker.as_ref(), &config, id, terminate)
        .await
        .map_err(ApiError::from_control)?;
    let mut out = Done::ok(done.describe(id), json!({ "id": id.to_string() }));
    if let Revoked::Terminating { worker } = &done {
        out.status = StatusCode::ACCEPTED;
        out.body["worker"] = Value::String(worker.clone());
    }
    Ok(out)
}

/// Deletes the failed set, or the jobs queued on a queue.
pub(crate) async fn purge(web: &Web, what: &Purge) -> Result<Done, ApiError> {
    let deleted = web.broker.purge(what).await?;
    let what_text = match what {
        Purge::Failed => "failed job",
        Purge::Queue(_) => "queued job",
    };
    let s = if deleted == 1 { "" } else { "s" };
    Ok(Done::ok(format!("deleted {deleted} {what_text}{s}"), json!({ "deleted": deleted })))
}

/// Pauses or resumes schedule `name`.
pub(crate) async fn pause(web: &Web, name: &str, paused: bool) -> Result<Done, ApiError> {
    let config = web.config();
    let changed = schedules::pause(name, paused, &config, web.broker.as_ref()).await.map_err(ApiError::from_control)?;
    Ok(Done::ok(schedules::paused_text(name, paused, changed), json!({ "changed": changed, "paused": paused })))
}

/// Enqueues one run of schedule `name` now (201).
pub(crate) async fn trigger(web: &Web, name: &str) -> Result<Done, ApiError> {
    let config = web.config();
    let enqueued = schedules::trigger(name, &config, web.broker.as_ref()).await.map_err(ApiError::from_control)?;
    let mut out = Done::ok(
        format!("enqueued {} for {name}", enqueued.id),
        json!({ "id": enqueued.id.to_string(), "duplicate": enqueued.duplicate }),
    );
    out.status = StatusCode::CREATED;
    Ok(out)
}
