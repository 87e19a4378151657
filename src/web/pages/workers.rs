//! The live workers and beats: host, queues, how busy, their clocks, and
//! what each runs, for how long.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};

use super::{Frame, NoticeQuery, PageError, when_text};
use crate::views::WorkerView;
use crate::web::{Caller, Web};

pub(super) async fn page(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    notice: NoticeQuery,
) -> Result<Markup, PageError> {
    let workers = web.broker.workers().await?;
    let workers: Vec<WorkerView> = workers.iter().map(WorkerView::from).collect();
    let notice = notice.0.text(&web);
    let frame =
        Frame { web: &web, caller: &caller, title: "Workers", here: "/workers", refresh: 3, notice: notice.as_deref() };
    Ok(frame.render(html! {
        @if workers.is_empty() {
            p.empty { "No live workers: start one with " code { "taskq run" } " (a worker that stops beating is gone within 30 s)." }
        } @else {
            div.scroll { table {
                thead { tr {
                    th { "Worker" } th { "Host" } th.num { "Pid" } th { "Queues" } th.num { "Busy" }
                    th { "Clock" } th { "Started" } th { "Running" }
                } }
                tbody {
                    @for w in &workers {
                        tr {
                            td { (w.id) }
                            td { (w.host) }
                            td.num { (w.pid) }
                            td { @if w.concurrency == 0 { "(beat)" } @else { (w.queues.join(", ")) @if w.beat { " + beat" } } }
                            td.num { (w.running.len()) "/" (w.concurrency) }
                            td {
                                @if w.clock_ok { "ok" } @else {
                                    span.error { (format!("{:+.3}s off", w.clock_offset_ms as f64 / 1000.0)) }
                                }
                            }
                            td { (when_text(Some(&w.started_at))) }
                            td {
                                @for r in &w.running {
                                    div { a href={ "/jobs/" (r.id) } { (r.job) } " attempt " (r.attempt) ", since " (when_text(r.started_at.as_deref())) }
                                }
                            }
                        }
                    }
                }
            } }
        }
    }))
}
