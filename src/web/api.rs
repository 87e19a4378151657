//! The JSON API's handlers, in the shapes the command line's `--json`
//! prints (views.rs), refused with the messages it gives: jobs enqueued,
//! read and listed; the overview, queues, workers and schedules; and the
//! operator's actions (actions.rs).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::actions::{self, Done};
use super::{ApiError, Caller, Web};
use crate::broker::{ListFilter, Purge};
use crate::enqueue::Request;
use crate::job::{Delay, JobId, JobState};
use crate::names::{JobName, QueueName};
use crate::views::JobView;

/// At most this many jobs in one list.
pub(super) const MAX_LIST: usize = 1000;

/// The API's routes.
pub(super) fn routes() -> axum::Router<Arc<Web>> {
    axum::Router::new()
        .route("/api/v1/openapi.json", get(super::openapi::document))
        .route("/api/v1/jobs", get(list_jobs).post(enqueue))
        .route("/api/v1/jobs/{id}", get(get_job))
        .route("/api/v1/jobs/{id}/retry", post(retry_job))
        .route("/api/v1/jobs/{id}/revoke", post(revoke_job))
        .route("/api/v1/jobs/{id}/output", get(super::events::output))
        .route("/api/v1/failed/retry", post(retry_failed))
        .route("/api/v1/failed", delete(purge_failed))
        .route("/api/v1/queues", get(queues))
        .route("/api/v1/queues/{queue}/jobs", delete(purge_queue))
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/workers", get(workers))
        .route("/api/v1/schedules", get(schedules))
        .route("/api/v1/schedules/{name}/{action}", post(control_schedule))
        .route("/api/v1/events", get(super::events::jobs))
        .route("/api/v1/runs", get(list_runs))
}

/// An action's answer: its status and JSON body.
fn answer(done: Result<Done, ApiError>) -> Result<Response, ApiError> {
    let done = done?;
    Ok((done.status, axum::Json(done.body)).into_response())
}

/// The job (or workflow run) a path names: its whole id, or enough of its
/// first characters to name one, as on the command line.
pub(super) async fn job_id(web: &Web, text: &str) -> Result<JobId, ApiError> {
    let arg: crate::job::IdArg = text.parse().map_err(ApiError::bad_request)?;
    crate::control::ids::resolve_one(web.broker.as_ref(), &arg).await.map_err(ApiError::from_control)
}

/// `POST /api/v1/jobs/{id}/retry`: requeue a failed job.
async fn retry_job(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.operator("retrying")?;
    answer(actions::retry(&web, Some(job_id(&web, &id).await?)).await)
}

/// `POST /api/v1/failed/retry`: requeue every failed job.
async fn retry_failed(State(web): State<Arc<Web>>, Extension(caller): Extension<Caller>) -> Result<Response, ApiError> {
    caller.operator("retrying")?;
    answer(actions::retry(&web, None).await)
}

/// `revoke`'s options: `{"terminate": true}` kills a running job.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    #[serde(default)]
    terminate: bool,
}

/// `POST /api/v1/jobs/{id}/revoke`, with an optional body `{"terminate": true}`.
async fn revoke_job(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    caller.operator("revoking")?;
    let options: RevokeBody = if body.iter().all(u8::is_ascii_whitespace) {
        RevokeBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    answer(actions::revoke(&web, job_id(&web, &id).await?, options.terminate).await)
}

/// `DELETE /api/v1/failed`: delete the failed set.
async fn purge_failed(State(web): State<Arc<Web>>, Extension(caller): Extension<Caller>) -> Result<Response, ApiError> {
    caller.operator("purging")?;
    answer(actions::purge(&web, &Purge::Failed).await)
}

/// `DELETE /api/v1/queues/{queue}/jobs`: delete the jobs queued there.
async fn purge_queue(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    Path(queue): Path<String>,
) -> Result<Response, ApiError> {
    caller.operator("purging")?;
    let queue = QueueName::new(&queue).map_err(ApiError::bad_request)?;
    answer(actions::purge(&web, &Purge::Queue(queue)).await)
}

/// `POST /api/v1/schedules/{name}/pause|resume|trigger`.
async fn control_schedule(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    Path((name, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let done = match action.as_str() {
        "pause" | "resume" => {
            caller.operator("pausing a schedule")?;
            actions::pause(&web, &name, action == "pause").await
        }
        "trigger" => {
            caller.operator("triggering a schedule")?;
            actions::trigger(&web, &name).await
        }
        other => {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                format!("no action \"{other}\" on a schedule: pause, resume or trigger"),
            ));
        }
    };
    answer(done)
}

/// `GET /api/v1/runs?workflow=&limit=`: workflow runs, newest first, as
/// `taskq status --json RUN` shows each (steps and their jobs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RunsQuery {
    pub workflow: Option<String>,
    pub limit: Option<usize>,
}

async fn list_runs(
    State(web): State<Arc<Web>>,
    query: Result<Query<RunsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let runs = read_runs(&web, &q).await?;
    let views: Vec<crate::views::RunView<'_>> = runs.iter().map(crate::views::RunView::from).collect();
    Ok(axum::Json(views).into_response())
}

/// The runs `q` asks for.
pub(super) async fn read_runs(web: &Web, q: &RunsQuery) -> Result<Vec<crate::broker::RunRecord>, ApiError> {
    let workflow = q.workflow.as_deref().filter(|w| !w.is_empty()).map(JobName::new).transpose();
    let workflow = workflow.map_err(ApiError::bad_request)?;
    let limit = q.limit.unwrap_or(50).min(MAX_LIST);
    Ok(web.broker.list_runs(workflow.as_ref(), limit).await?)
}

/// `GET /api/v1/overview`: what `taskq inspect --json` prints.
async fn overview(State(web): State<Arc<Web>>) -> Result<Response, ApiError> {
    let view = crate::control::snapshot(&web.config(), web.broker.as_ref()).await.map_err(|e| ApiError::broker(&e))?;
    Ok(axum::Json(view).into_response())
}

/// `GET /api/v1/queues`: each queue jobs.toml names, with its ready jobs.
async fn queues(State(web): State<Arc<Web>>) -> Result<Response, ApiError> {
    let mut out = Vec::new();
    for q in web.config().queues() {
        let ready = web.broker.count_ready(std::slice::from_ref(&q)).await?;
        out.push(json!({ "name": q.to_string(), "ready": ready }));
    }
    Ok(axum::Json(out).into_response())
}

/// `GET /api/v1/workers`: the live workers and beats, as in `inspect --json`.
async fn workers(State(web): State<Arc<Web>>) -> Result<Response, ApiError> {
    let workers = web.broker.workers().await?;
    let views: Vec<crate::views::WorkerView> = workers.iter().map(crate::views::WorkerView::from).collect();
    Ok(axum::Json(views).into_response())
}

/// `GET /api/v1/schedules`: each schedule with its health, as in
/// `inspect --json`.
async fn schedules(State(web): State<Arc<Web>>) -> Result<Response, ApiError> {
    let view = crate::control::snapshot(&web.config(), web.broker.as_ref()).await.map_err(|e| ApiError::broker(&e))?;
    Ok(axum::Json(view.schedules).into_response())
}

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

/// Parameters as the command line's `-p NAME=VALUE` would give them.
fn params_text(params: BTreeMap<String, Value>) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for (name, value) in params {
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
        out.insert(name, text);
    }
    Ok(out)
}

impl EnqueueBody {
    fn request(self) -> Result<Request, ApiError> {
        let params = params_text(self.params)?;
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
    Extension(caller): Extension<Caller>,
    body: Result<axum::Json<EnqueueBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    caller.operator("enqueueing")?;
    let axum::Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let config = web.config();
    if let Some(wf) = config.workflow(&body.job) {
        return start_run(&web, &config, wf, body).await;
    }
    if let Some(message) = crate::enqueue::unknown_job_or_workflow(&config, &body.job) {
        return Err(ApiError::bad_request(message));
    }
    let (job, _) = body.request()?.build(&config).map_err(|e| ApiError::bad_request(e.0))?;
    let enqueued = web.broker.enqueue(std::slice::from_ref(&job)).await?;
    let first = enqueued.first().ok_or_else(|| ApiError::broker(&anyhow::anyhow!("the broker acknowledged no job")))?;
    let status = if first.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(json!({ "id": first.id.to_string(), "duplicate": first.duplicate }))).into_response())
}

/// `POST /api/v1/jobs` of a workflow: starts a run and launches its first
/// step, as `taskq enqueue WORKFLOW` does; 201 with the run's id.
async fn start_run(
    web: &Web,
    config: &crate::config::Config,
    wf: &crate::config::WorkflowDef,
    body: EnqueueBody,
) -> Result<Response, ApiError> {
    let refused = [
        (!body.args.is_empty(), "\"args\" (give \"params\")"),
        (body.queue.is_some(), "\"queue\" (each step's job goes to its own queue)"),
        (body.delay.is_some() || body.at.is_some(), "\"delay\" or \"at\""),
        (body.expires.is_some(), "\"expires\""),
        (body.key.is_some() || body.unique_for.is_some(), "\"key\""),
    ];
    if let Some((_, what)) = refused.iter().find(|(given, _)| *given) {
        return Err(ApiError::bad_request(format!("\"{}\" is a workflow: it takes no {what}", wf.name)));
    }
    let given = params_text(body.params)?;
    crate::workflow::check_params(config, wf, &given).map_err(ApiError::bad_request)?;
    let id = JobId::new();
    let how = crate::workflow::drive::Start { params: given, ..Default::default() };
    crate::workflow::drive::store(web.broker.as_ref(), config, wf, id, how).await?;
    // Stored: its first step is launched now, or by a worker's maintenance.
    let check = crate::workflow::drive::Check::Run;
    if let Err(e) = crate::workflow::drive::follow_up(web.broker.as_ref(), config, id, check).await {
        tracing::warn!(run = %id, error = %e, "run stored; a worker's maintenance launches its first step");
    }
    let body = json!({ "id": id.to_string(), "duplicate": false, "workflow": wf.name.as_str() });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `GET /api/v1/jobs/{id}`: what `taskq status --json ID` prints.
pub(super) async fn get_job(State(web): State<Arc<Web>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = job_id(&web, &id).await?;
    let mut records = web.broker.get(&[id]).await?;
    if let Some(record) = records.pop().flatten() {
        return Ok(axum::Json(JobView::from(&record)).into_response());
    }
    // A workflow run's id: the run, with its steps, as `status` shows it.
    if let Some(run) = web.broker.get_runs(&[id]).await?.pop().flatten() {
        return Ok(axum::Json(crate::views::RunView::from(&run)).into_response());
    }
    // A job that succeeded with ignore_result left only a tombstone: it
    // succeeded, as `status` says.
    let tombstone = web.broker.tombstones(&[id]).await?;
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
    pub state: Option<String>,
    pub queue: Option<String>,
    pub job: Option<String>,
    pub limit: Option<usize>,
}

impl ListQuery {
    /// The broker's filter; empty fields (a form's "any") filter nothing.
    pub(crate) fn filter(&self) -> Result<ListFilter, ApiError> {
        fn given(v: Option<&String>) -> Option<&str> {
            v.map(String::as_str).filter(|s| !s.is_empty())
        }
        Ok(ListFilter {
            state: given(self.state.as_ref()).map(str::parse::<JobState>).transpose().map_err(ApiError::bad_request)?,
            queue: given(self.queue.as_ref()).map(QueueName::new).transpose().map_err(ApiError::bad_request)?,
            job: given(self.job.as_ref()).map(JobName::new).transpose().map_err(ApiError::bad_request)?,
            limit: self.limit.unwrap_or(50).min(MAX_LIST),
            scan: None,
        })
    }
}

pub(super) async fn list_jobs(
    State(web): State<Arc<Web>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let jobs = web.broker.list(&q.filter()?).await?;
    let views: Vec<JobView<'_>> = jobs.iter().map(JobView::from).collect();
    Ok(axum::Json(views).into_response())
}
