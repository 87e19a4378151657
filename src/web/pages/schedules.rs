//! The schedules: last and next fire, health, pause, resume, trigger now.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};

use super::{Frame, NoticeQuery, PageError, badge, when_text};
use crate::web::{ApiError, Caller, Web};

pub(super) async fn page(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    notice: NoticeQuery,
) -> Result<Markup, PageError> {
    let config = web.config();
    let view = crate::control::snapshot(&config, web.broker.as_ref()).await.map_err(|e| ApiError::broker(&e))?;
    let notice = notice.0.text(&web);
    let frame = Frame {
        web: &web,
        caller: &caller,
        title: "Schedules",
        here: "/schedules",
        refresh: 5,
        notice: notice.as_deref(),
    };
    Ok(frame.render(html! {
        @if view.schedules.is_empty() {
            p.empty { "jobs.toml has no schedules: give a job " code { "schedule" } " or " code { "every" } "." }
        } @else {
            div.scroll { table.schedules {
                thead { tr {
                    th { "Schedule" } th { "When" } th { "State" } th { "Last tick" } th { "Next" }
                    th.num { "Fired" } th.num { "Skipped" } th { "Last success" } th { "Health" } th {}
                } }
                tbody {
                    @for s in &view.schedules {
                        tr data-schedule=(s.name) {
                            td {
                                @if config.workflow(&s.name).is_some() {
                                    a href={ "/workflows?workflow=" (s.name) } { (s.name) }
                                } @else {
                                    a href={ "/jobs?job=" (s.name) } { (s.name) }
                                }
                            }
                            td { code { (s.schedule) } " " small { (s.timezone) } }
                            td { @if s.paused { (badge("paused")) } @else { (badge("active")) } }
                            td { (when_text(s.last_tick.as_deref())) }
                            td { @if s.paused { "-" } @else { (when_text(s.next.as_deref())) } }
                            td.num { (s.fired) }
                            td.num { (s.skipped) @if let Some(why) = &s.last_skip { @if s.skipped > 0 { " (" (why) ")" } } }
                            td { (when_text(s.last_success.as_deref())) }
                            td { @if s.alerts.is_empty() { "ok" } @else { span.error { (s.alerts.join("; ")) } } }
                            td.actions {
                                @if s.paused {
                                    (frame.button(&format!("/schedules/{}/resume", s.name), "Resume", "primary"))
                                } @else {
                                    (frame.button(&format!("/schedules/{}/pause", s.name), "Pause", ""))
                                }
                                (frame.button(&format!("/schedules/{}/trigger", s.name), "Trigger now", ""))
                            }
                        }
                    }
                }
            } }
        }
    }))
}
