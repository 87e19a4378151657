//! The JSON API's handlers: jobs enqueued, read and listed, in the shapes
//! `taskq status --json` and `enqueue --json` print (views.rs), refused
//! with the messages the command line gives.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Role;
use super::{ApiError, Web};
use crate::broker::ListFilter;
use crate::enqueue::Request;
use crate::job::{Delay, JobId, JobState};
use crate::names::{JobName, QueueName};
use crate::views::JobView;

/// At most this many jobs in one list.
const MAX_LIST: usize = 1000;

/// `POST /api/v1/jobs`: `enqueue`'s options, durations as humantime
/// (`"30s"`), `at` as RFC 3339.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnqueueBody {
    job: String,
    #[serde(default)]
    args: Vec<String>,
    /// Values may be JSON strings, numbers or booleans.
    #[serde(default)]
    params: BTreeMap<String, Value>,
    queue: Option<String>,
    delay: Option<String>,
    at: Option<String>,
    expires: Option<String>,
    key: Option<String>,
    unique_for: Option<String>,
}

fn duration(field: &str, text: Option<&str>) -> Result<Option<Duration>, ApiError> {
    text.map(|t| {
        humantime::parse_duration(t).map_err(|e| {
            ApiError::bad_request(format!(
                "\"{field}\": invalid duration \"{t}\": {e} (use e.g. \"90s\", \"5m\", \"1h30m\")"
            ))
        })
    })
    .transpose()
}

impl EnqueueBody {
    fn request(self) -> Result<Request, ApiError> {
        let mut params = BTreeMap::new();
        for (name, value) in self.params {
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "parameter \"{name}\" must be a string, a number or a boolean"
                    )));
                }
            };
            params.insert(name, text);
        }
        let delay = match (duration("delay", self.delay.as_deref())?, self.at.as_deref()) {
            (Some(_), Some(_)) => return Err(ApiError::bad_request("give \"delay\" or \"at\", not both")),
            (Some(d), None) => Some(Delay::For(d)),
            (None, Some(at)) => Some(Delay::Until(at.parse().map_err(|e| {
                ApiError::bad_request(format!(
                    "\"at\": invalid time \"{at}\": {e} (use RFC 3339, e.g. 2026-11-29T18:00:00Z)"
                ))
            })?)),
            (None, None) => None,
        };
        if self.unique_for.is_some() && self.key.is_none() {
            return Err(ApiError::bad_request("\"unique_for\" is how long \"key\" is held: give a key too"));
        }
        Ok(Request {
            job: self.job,
            args: self.args,
            params,
            queue: self.queue.map(|q| QueueName::new(&q)).transpose().map_err(ApiError::bad_request)?,
            delay,
            expires: duration("expires", self.expires.as_deref())?,
            key: self.key,
            unique_for: duration("unique_for", self.unique_for.as_deref())?,
        })
    }
}

/// `POST /api/v1/jobs`: 201 with `{"id", "duplicate"}` (200 when the key
/// was held by an earlier job, whose id it is).
pub(super) async fn enqueue(
    State(web): State<Arc<Web>>,
    Extension(role): Extension<Role>,
    body: Result<axum::Json<EnqueueBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    if role < Role::Operator {
        return Err(ApiError(StatusCode::FORBIDDEN, "enqueueing needs the operator role".into()));
    }
    let axum::Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if web.config.workflow(&body.job).is_some() {
        return Err(ApiError::bad_request(format!(
            "\"{}\" is a workflow: starting workflows through the API is not built yet (taskq enqueue starts one)",
            body.job
        )));
    }
    let (job, _) = body.request()?.build(&web.config).map_err(|e| ApiError::bad_request(e.0))?;
    let enqueued = web.broker.enqueue(std::slice::from_ref(&job)).await.map_err(|e| ApiError::broker(&e.into()))?;
    let first = enqueued.first().ok_or_else(|| ApiError::broker(&anyhow::anyhow!("the broker acknowledged no job")))?;
    let status = if first.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(json!({ "id": first.id.to_string(), "duplicate": first.duplicate }))).into_response())
}

/// `GET /api/v1/jobs/{id}`: what `taskq status --json ID` prints.
pub(super) async fn get_job(State(web): State<Arc<Web>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id: JobId = id.parse().map_err(ApiError::bad_request)?;
    let mut records = web.broker.get(&[id]).await.map_err(|e| ApiError::broker(&e.into()))?;
    if let Some(record) = records.pop().flatten() {
        return Ok(axum::Json(JobView::from(&record)).into_response());
    }
    // A job that succeeded with ignore_result left only a tombstone: it
    // succeeded, as `status` says.
    let tombstone = web.broker.tombstones(&[id]).await.map_err(|e| ApiError::broker(&e.into()))?;
    match tombstone.into_iter().next().flatten() {
        Some(t) => Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], crate::views::tombstone_json(&t))
            .into_response()),
        None => Err(ApiError(StatusCode::NOT_FOUND, crate::exit::unknown_ids(&[id]).0)),
    }
}

/// `GET /api/v1/jobs?state=&queue=&job=&limit=`: as `taskq list --json`,
/// newest first, one JSON array.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    state: Option<String>,
    queue: Option<String>,
    job: Option<String>,
    limit: Option<usize>,
}

pub(super) async fn list_jobs(
    State(web): State<Arc<Web>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let filter = ListFilter {
        state: q.state.as_deref().map(str::parse::<JobState>).transpose().map_err(ApiError::bad_request)?,
        queue: q.queue.as_deref().map(QueueName::new).transpose().map_err(ApiError::bad_request)?,
        job: q.job.as_deref().map(JobName::new).transpose().map_err(ApiError::bad_request)?,
        limit: q.limit.unwrap_or(50).min(MAX_LIST),
    };
    let jobs = web.broker.list(&filter).await.map_err(|e| ApiError::broker(&e.into()))?;
    let views: Vec<JobView<'_>> = jobs.iter().map(JobView::from).collect();
    Ok(axum::Json(views).into_response())
}
