//! The failed set: each failed job with its error, retry one or all, and
//! purge after a confirmation page.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};

use super::{Frame, NoticeQuery, PageError, when};
use crate::broker::{ListFilter, Purge};
use crate::job::JobState;
use crate::web::api::MAX_LIST;
use crate::web::{Caller, Web};

/// Failed jobs shown (the newest).
const SHOWN: usize = 200;

pub(super) async fn page(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    notice: NoticeQuery,
) -> Result<Markup, PageError> {
    let count = web.broker.count(&Purge::Failed).await?;
    let filter = ListFilter { state: Some(JobState::Failed), limit: SHOWN.min(MAX_LIST), ..ListFilter::default() };
    let jobs = web.broker.list(&filter).await?;
    let notice = notice.0.text(&web);
    let frame =
        Frame { web: &web, caller: &caller, title: "Failed", here: "/failed", refresh: 5, notice: notice.as_deref() };
    Ok(frame.render(html! {
        @if count == 0 {
            p.empty { "No failed jobs." }
        } @else {
            div.actions {
                (frame.button("/failed/retry", &format!("Retry all {count}"), "primary"))
                a.button.danger href="/failed/purge" { "Purge…" }
            }
            @if jobs.len() < count as usize { p { "The newest " (jobs.len()) " of " (count) ":" } }
            div.scroll { table.jobs {
                thead { tr { th { "Id" } th { "Job" } th { "Queue" } th.num { "Attempts" } th { "Finished" } th { "Error" } th {} } }
                tbody {
                    @for r in &jobs {
                        tr data-id=(r.job.id) {
                            td.id { a href={ "/jobs/" (r.job.id) } { (r.job.id) } }
                            td { (r.job.job.as_str()) }
                            td { (r.job.queue.as_str()) }
                            td.num { (r.attempts) }
                            td { @if let Some(t) = r.finished_at { (when(t)) } @else { "-" } }
                            td.error { (r.error.as_deref().unwrap_or("-")) }
                            td { (frame.button(&format!("/jobs/{}/retry", r.job.id), "Retry", "")) }
                        }
                    }
                }
            } }
        }
    }))
}

/// Purge asks first: this page says what would be deleted.
pub(super) async fn confirm_purge(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
) -> Result<Markup, PageError> {
    let count = web.broker.count(&Purge::Failed).await?;
    let frame = Frame {
        web: &web,
        caller: &caller,
        title: "Purge the failed jobs?",
        here: "/failed",
        refresh: 0,
        notice: None,
    };
    Ok(frame.render(html! {
        @if count == 0 {
            p.empty { "No failed jobs: nothing to purge." }
            p { a href="/failed" { "Back" } }
        } @else {
            p { "This deletes " strong { (count) " failed job" @if count != 1 { "s" } } " and their records for good. Retrying is no longer possible after." }
            div.actions {
                (frame.button("/failed/purge", &format!("Delete {count}"), "danger"))
                a.button href="/failed" { "Cancel" }
            }
        }
    }))
}
