//! The overview: queues and their depths, live workers and what they run,
//! per-job outcomes with charts of the last hour and day, the failed count,
//! and the schedules that need a look.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};

use super::{Frame, NoticeQuery, PageError, badge, when_text};
use crate::broker::Purge;
use crate::text::short_duration;
use crate::web::{ApiError, Caller, Web};

pub(super) async fn page(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    notice: NoticeQuery,
) -> Result<Markup, PageError> {
    let config = web.config();
    let view = crate::control::snapshot(&config, web.broker.as_ref()).await.map_err(|e| ApiError::broker(&e))?;
    let failed = web.broker.count(&Purge::Failed).await?;
    let queued: u64 = view.queues.iter().map(|q| q.ready).sum();
    let running: usize = view.workers.iter().map(|w| w.running.len()).sum();
    let workers = view.workers.iter().filter(|w| w.concurrency > 0).count();
    let attention: Vec<_> = view.schedules.iter().filter(|s| !s.alerts.is_empty()).collect();
    let notice = notice.0.text(&web);
    let frame =
        Frame { web: &web, caller: &caller, title: "Overview", here: "/", refresh: 3, notice: notice.as_deref() };
    Ok(frame.render(html! {
        section.cards {
            a.card href="/jobs?state=queued" { span.n { (queued) } " queued" }
            a.card href="/jobs?state=running" { span.n { (running) } " running" }
            a.card.bad[failed > 0] href="/failed" { span.n { (failed) } " failed" }
            a.card href="/workers" { span.n { (workers) } " workers" }
            a.card.bad[!attention.is_empty()] href="/schedules" { span.n { (attention.len()) } " schedule alerts" }
        }
        h2 { "Queues" }
        div.scroll { table {
            thead { tr { th { "Queue" } th.num { "Ready" } } }
            tbody {
                @for q in &view.queues {
                    tr { td { a href={ "/jobs?queue=" (q.name) } { (q.name) } } td.num { (q.ready) } }
                }
            }
        } }
        h2 { "Workers" }
        @if view.workers.is_empty() {
            p.empty { "No live workers: start one with " code { "taskq run" } "." }
        } @else {
            div.scroll { table {
                thead { tr { th { "Worker" } th { "Queues" } th.num { "Busy" } th { "Running" } } }
                tbody {
                    @for w in &view.workers {
                        tr {
                            td { (w.id) }
                            td { @if w.concurrency == 0 { "(beat)" } @else { (w.queues.join(", ")) } }
                            td.num { (w.running.len()) "/" (w.concurrency) }
                            td { @for r in &w.running { a href={ "/jobs/" (r.id) } { (r.job) } " " } }
                        }
                    }
                }
            } }
        }
        h2 { "Jobs" }
        @if view.jobs.is_empty() {
            p.empty { "No job ran in the last 24 hours." }
        } @else {
            div.scroll { table {
                thead { tr {
                    th { "Job" } th.num { "Running" } th.num { "OK 1h" } th.num { "Failed 1h" } th.num { "p95 1h" }
                    th { "Last hour" } th.num { "OK 24h" } th.num { "Failed 24h" } th { "Last 24 h" }
                } }
                tbody {
                    @for j in &view.jobs {
                        tr {
                            td { a href={ "/jobs?job=" (j.name) } { (j.name) } }
                            td.num { (j.running) }
                            td.num { (j.last_hour.succeeded) }
                            td.num.bad[j.last_hour.failed > 0] { (j.last_hour.failed) }
                            td.num { (j.last_hour.p95_seconds.map_or("-".into(), short_duration)) }
                            td { (chart(&j.per_minute, 60, "per minute, the last hour")) }
                            td.num { (j.last_24h.succeeded) }
                            td.num.bad[j.last_24h.failed > 0] { (j.last_24h.failed) }
                            td { (chart(&j.per_hour, 24, "per hour, the last 24 hours")) }
                        }
                    }
                }
            } }
        }
        @if !attention.is_empty() {
            h2 { "Schedules that need a look" }
            ul.alerts {
                @for s in &attention {
                    li { a href="/schedules" { (s.name) } ": " (s.alerts.join("; ")) " (last success " (when_text(s.last_success.as_deref())) ")" }
                }
            }
        }
        @if view.workflows.iter().any(|w| w.running + w.failed > 0) {
            h2 { "Workflow runs" }
            div.scroll { table {
                thead { tr { th { "Workflow" } th.num { "Running" } th.num { "Succeeded" } th.num { "Failed" } th.num { "Revoked" } } }
                tbody {
                    @for w in &view.workflows {
                        tr {
                            td { (w.name) } td.num { (w.running) } td.num { (w.succeeded) }
                            td.num.bad[w.failed > 0] { (w.failed) } td.num { (w.revoked) }
                        }
                    }
                }
            } }
        }
        p.legend { (badge("succeeded")) " " (badge("failed")) " bars: attempts that succeeded, and that failed, retried, expired or were lost." }
    }))
}

/// Stacked bars of `[succeeded, failed]` per bucket (`slots` of them when
/// there are none yet), oldest first, drawn
/// here as SVG (no chart library, nothing fetched), on a baseline so that
/// an hour with nothing reads as such.
fn chart(buckets: &[[u64; 2]], slots: usize, title: &str) -> Markup {
    const H: u64 = 24;
    let n = buckets.len().max(slots);
    let bar: usize = if n > 30 { 3 } else { 7 };
    let width = n * bar;
    let top = buckets.iter().map(|[ok, bad]| ok + bad).max().unwrap_or(0).max(1);
    let total: u64 = buckets.iter().map(|[ok, bad]| ok + bad).sum();
    let label = format!("{title}: {total} attempts");
    // Any count shows as at least one pixel; both together fit the height.
    let height = |v: u64| if v == 0 { 0 } else { (v * (H - 1) / top).max(1) };
    html! {
        svg.chart width=(width) height=(H) viewBox={ "0 0 " (width) " " (H) } role="img" aria-label=(label) {
            title { (label) }
            rect.track x="0" y=(H - 1) width=(width) height="1" {}
            @for (i, [ok, bad]) in buckets.iter().enumerate() {
                @let (good, failed) = (height(*ok), height(*bad));
                @if good > 0 { rect.ok x=(i * bar) y=(H - 1 - good) width=(bar - 1) height=(good) {} }
                @if failed > 0 { rect.bad x=(i * bar) y=((H - 1).saturating_sub(good + failed)) width=(bar - 1) height=(failed.min(H - 1 - good.min(H - 1))) {} }
            }
        }
    }
}
