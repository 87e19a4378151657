//! The jobs: a list filtered by state, queue and job name, searched by id
//! (or its first characters), a page at a time; and one job with every
//! field `status` shows, its output (followed live while it runs), the
//! job's recent runs, and retry or revoke. A workflow run's id shows the
//! run and its steps.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Frame, Notice, PageError, PageQuery, badge, state_badge, when};
use crate::broker::ListFilter;
use crate::job::{IdArg, JobId, JobRecord, JobState};
use crate::views::{JobView, RunView};
use crate::web::api::{ListQuery, MAX_LIST};
use crate::web::{ApiError, Caller, Web};

/// Jobs on a page.
const PER_PAGE: usize = 50;
/// Runs of the same job on a job's page.
const RECENT_RUNS: usize = 10;
/// The newest jobs of each queue a filter by job name looks at: Redis has
/// no index by name, and a page must answer in well under 100 ms.
const JOB_SCAN: usize = 5_000;
/// The newest jobs of its queue a job's page looks among for its recent runs.
const RECENT_SCAN: usize = 2_000;

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListParams {
    #[serde(default)]
    state: String,
    #[serde(default)]
    queue: String,
    #[serde(default)]
    job: String,
    #[serde(default)]
    id: String,
    page: Option<usize>,
}

pub(super) async fn list(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    PageQuery(p): PageQuery<ListParams>,
) -> Result<Response, PageError> {
    let id = p.id.trim();
    if !id.is_empty() {
        return search(&web, &caller, id).await;
    }
    let page = p.page.unwrap_or(1).clamp(1, MAX_LIST / PER_PAGE);
    let query = ListQuery {
        state: Some(p.state.clone()),
        queue: Some(p.queue.clone()),
        job: Some(p.job.trim().to_string()),
        limit: Some(page * PER_PAGE + 1),
    };
    let mut filter = query.filter()?;
    if filter.job.is_some() {
        filter.scan = Some(JOB_SCAN);
    }
    let jobs = web.broker.list(&filter).await?;
    let shown: Vec<&JobRecord> = jobs.iter().skip((page - 1) * PER_PAGE).take(PER_PAGE).collect();
    let more = jobs.len() > page * PER_PAGE && page < MAX_LIST / PER_PAGE;
    let config = web.config();
    let states = ["scheduled", "queued", "running", "retrying", "succeeded", "failed", "revoked", "expired"];
    let link = |page: usize| {
        let q = |name: &str, v: &str| {
            format!("{name}={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC))
        };
        format!("/jobs?{}&{}&{}&page={page}", q("state", &p.state), q("queue", &p.queue), q("job", &p.job))
    };
    let frame = Frame { web: &web, caller: &caller, title: "Jobs", here: "/jobs", refresh: 3, notice: None };
    Ok(frame
        .render(html! {
            form.filters method="get" action="/jobs" {
                label { "State " select name="state" {
                    option value="" { "any" }
                    @for s in states { option value=(s) selected[p.state == s] { (s) } }
                } }
                label { "Queue " select name="queue" {
                    option value="" { "any" }
                    @for q in config.queues() { option value=(q.as_str()) selected[p.queue == q.as_str()] { (q.as_str()) } }
                } }
                label { "Job " input type="text" name="job" value=(p.job) list="job-names" size="16"; }
                datalist id="job-names" { @for j in config.jobs.iter() { option value=(j.name.as_str()) {} } }
                button type="submit" { "Filter" }
            }
            form.filters method="get" action="/jobs" {
                label { "Id " input type="search" name="id" placeholder="id or its first 8 characters" size="36"; }
                button type="submit" { "Find" }
            }
            (table(&shown))
            @if filter.job.is_some() {
                p.legend { "A filter by job looks among the newest " (JOB_SCAN) " jobs of each queue; "
                    code { "taskq history JOB" } " searches them all." }
            }
            nav.pages {
                @if page > 1 { a href=(link(page - 1)) rel="prev" { "← newer" } }
                " page " (page) " "
                @if more { a href=(link(page + 1)) rel="next" { "older →" } }
            }
        })
        .into_response())
}

/// The jobs as a table, newest first.
pub(super) fn table(jobs: &[&JobRecord]) -> Markup {
    html! {
        @if jobs.is_empty() {
            p.empty { "No jobs match." }
        } @else {
            div.scroll { table.jobs {
                thead { tr { th { "Id" } th { "Job" } th { "State" } th { "Queue" } th.num { "Attempts" } th { "Enqueued" } th { "Finished" } } }
                tbody {
                    @for r in jobs {
                        tr data-id=(r.job.id) {
                            td.id { a href={ "/jobs/" (r.job.id) } { (r.job.id) } }
                            td { (r.job.job.as_str()) }
                            td { (state_badge(r.state)) }
                            td { (r.job.queue.as_str()) }
                            td.num { (r.attempts) }
                            td { (when(r.enqueued_at)) }
                            td { @if let Some(t) = r.finished_at { (when(t)) } @else { "-" } }
                        }
                    }
                }
            } }
        }
    }
}

/// The search by id: a whole id or a prefix matching one job opens it.
async fn search(web: &Web, caller: &Caller, text: &str) -> Result<Response, PageError> {
    let arg: IdArg = text.parse().map_err(ApiError::bad_request)?;
    let ids = match arg {
        IdArg::Id(id) => vec![id],
        IdArg::Prefix(prefix) => web.broker.find_ids(&prefix, 20).await?,
    };
    if let [id] = ids[..] {
        return Ok(Redirect::to(&format!("/jobs/{id}")).into_response());
    }
    let records: Vec<JobRecord> = web.broker.get(&ids).await?.into_iter().flatten().collect();
    let shown: Vec<&JobRecord> = records.iter().collect();
    let frame = Frame { web, caller, title: "Jobs", here: "/jobs", refresh: 0, notice: None };
    Ok(frame
        .render(html! {
            p { (ids.len()) " jobs start with " code { (text) } ":" }
            (table(&shown))
        })
        .into_response())
}

pub(super) async fn page(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    PageQuery(notice): PageQuery<Notice>,
) -> Result<Response, PageError> {
    let id: JobId = crate::web::api::job_id(&web, &id).await?;
    let notice = notice.text(&web);
    let record = web.broker.get(&[id]).await?.pop().flatten();
    let Some(record) = record else {
        return run_page(&web, &caller, id, notice.as_deref()).await;
    };
    let recent = web
        .broker
        .list(&ListFilter {
            job: Some(record.job.job.clone()),
            queue: Some(record.job.queue.clone()),
            limit: RECENT_RUNS + 1,
            scan: Some(RECENT_SCAN),
            ..ListFilter::default()
        })
        .await?;
    let recent: Vec<&JobRecord> = recent.iter().filter(|r| r.job.id != id).take(RECENT_RUNS).collect();
    let v = JobView::from(&record);
    let running = record.state == JobState::Running;
    let title = format!("{} {}", v.job, v.id);
    let frame = Frame {
        web: &web,
        caller: &caller,
        title: &title,
        here: "/jobs",
        refresh: if record.state.is_final() { 0 } else { 3 },
        notice: notice.as_deref(),
    };
    let field = |name: &str, value: Markup| html! { tr { th { (name) } td { (value) } } };
    let text = |t: Option<&str>| html! { @if let Some(t) = t { (t) } @else { "-" } };
    let at = |t: Option<jiff::Timestamp>| html! { @if let Some(t) = t { (when(t)) } @else { "-" } };
    Ok(frame
        .render(html! {
            div.actions {
                @if record.state == JobState::Failed {
                    (frame.button(&format!("/jobs/{id}/retry"), "Retry", "primary"))
                }
                @if !record.state.is_final() {
                    (frame.form(&format!("/jobs/{id}/revoke"), if running { "Kill" } else { "Revoke" }, "danger", html! {
                        @if running { input type="hidden" name="terminate" value="1"; }
                    }))
                }
            }
            div.scroll { table.fields {
                tbody {
                    (field("Id", html! { code { (v.id) } }))
                    (field("Job", html! { a href={ "/jobs?job=" (v.job) } { (v.job) } }))
                    (field("State", state_badge(v.state)))
                    (field("Queue", html! { (v.queue) }))
                    (field("Args", html! { @if v.args.is_empty() { "-" } @else { code { (crate::text::shell_words(v.args)) } } }))
                    (field("Params", html! {
                        @if v.params.is_empty() { "-" }
                        @for (name, value) in v.params { code { (name) "=" (value) } " " }
                    }))
                    (field("Attempts", html! { (v.attempts) }))
                    (field("Enqueued", when(v.enqueued_at)))
                    (field("Due", at(v.due_at)))
                    (field("Expires", at(v.expires_at)))
                    (field("Started", at(v.started_at)))
                    (field("Finished", at(v.finished_at)))
                    (field("Duration", html! { @if let Some(ms) = v.duration_ms { (crate::text::short_duration(ms as f64 / 1000.0)) } @else { "-" } }))
                    (field("Scheduled at", text(v.scheduled_at)))
                    (field("Exit code", html! { @if let Some(c) = v.exit_code { (c) } @else { "-" } }))
                    (field("HTTP status", html! { @if let Some(c) = v.http_status { (c) } @else { "-" } }))
                    (field("Worker", text(v.worker)))
                    (field("Error", html! { @if let Some(e) = v.error { span.error { (e) } } @else { "-" } }))
                    @if let Some(run) = &v.run {
                        (field("Workflow", html! { a href={ "/jobs/" (run.id) } { (run.workflow) " run " (run.id) } " step " (run.step) }))
                    }
                }
            } }
            @if !v.history.is_empty() {
                h2 { "Attempts" }
                div.scroll { table.attempts {
                    thead { tr { th.num { "#" } th { "Ended" } th { "Started" } th { "Finished" } th { "Exit" } th { "Worker" } th { "Error" } } }
                    tbody {
                        @for a in &v.history {
                            tr {
                                td.num { (a.attempt) }
                                td { (badge(a.outcome)) }
                                td { (at(a.started_at)) }
                                td { (at(a.finished_at)) }
                                td { (ended_how(a.exit_code, a.http_status)) }
                                td { (text(a.worker)) }
                                td.error { (text(a.error)) }
                            }
                        }
                        // The last attempt is the record's own (unless it
                        // is the retried one above, waiting for the next).
                        @if v.history.last().is_none_or(|a| a.attempt != v.attempts) && v.attempts > 0 {
                            tr {
                                td.num { (v.attempts) }
                                td { (state_badge(v.state)) }
                                td { (at(v.started_at)) }
                                td { (at(v.finished_at)) }
                                td { (ended_how(v.exit_code, v.http_status)) }
                                td { (text(v.worker)) }
                                td.error { (text(v.error)) }
                            }
                        }
                    }
                } }
            }
            h2 { "Output" }
            pre #output data-follow=[(!record.state.is_final()).then(|| format!("/api/v1/jobs/{id}/output"))] {
                (v.output.unwrap_or_default())
            }
            @if !recent.is_empty() {
                h2 { "Recent runs of " (v.job) " on " (v.queue) }
                (table(&recent))
            }
        })
        .into_response())
}

/// An attempt's exit code, or its HTTP status.
fn ended_how(exit_code: Option<i32>, http_status: Option<u16>) -> Markup {
    html! { @if let Some(c) = exit_code { (c) } @else if let Some(h) = http_status { "HTTP " (h) } @else { "-" } }
}

/// A workflow run's page, or 404.
async fn run_page(web: &Web, caller: &Caller, id: JobId, notice: Option<&str>) -> Result<Response, PageError> {
    let run = web.broker.get_runs(&[id]).await?.pop().flatten();
    let Some(run) = run else {
        let tombstone = web.broker.tombstones(&[id]).await?.pop().flatten();
        let message = match tombstone {
            Some(t) => format!("job {id} ({}) succeeded; its record is not kept (ignore_result)", t.job),
            None => crate::exit::unknown_ids(&[id]).0,
        };
        return Err(PageError(ApiError(axum::http::StatusCode::NOT_FOUND, message)));
    };
    let v = RunView::from(&run);
    let title = format!("{} run {}", v.workflow, v.id);
    let ended = !matches!(v.state, crate::broker::RunState::Running);
    let frame = Frame { web, caller, title: &title, here: "/jobs", refresh: if ended { 0 } else { 3 }, notice };
    Ok(frame
        .render(html! {
            div.actions {
                @if !ended { (frame.button(&format!("/jobs/{id}/revoke"), "Revoke the run", "danger")) }
            }
            p { "Workflow run: " (badge(&v.state.to_string())) " enqueued " (when(v.enqueued_at))
                @if let Some(t) = v.finished_at { ", finished " (when(t)) } }
            @if let Some(e) = &v.error { p.error { (e) } }
            div.scroll { table {
                thead { tr { th.num { "Step" } th { "Name" } th { "State" } th { "Jobs" } } }
                tbody {
                    @for s in &v.steps {
                        tr {
                            td.num { (s.step) }
                            td { (s.name) }
                            td { (badge(s.state)) }
                            td {
                                @if !s.jobs.is_empty() { (s.succeeded) " of " (s.jobs.len()) " succeeded: " }
                                @for j in s.jobs.iter().take(20) { a.id href={ "/jobs/" (j) } { (j) } " " }
                                @if s.jobs.len() > 20 { "… and " (s.jobs.len() - 20) " more" }
                            }
                        }
                    }
                }
            } }
        })
        .into_response())
}
