//! Workflow runs: the newest, by workflow, each with its state and steps;
//! a run's id opens its page (jobs.rs), its steps and their jobs.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};

use super::{Frame, PageError, PageQuery, badge, when};
use crate::views::RunView;
use crate::web::api::{RunsQuery, read_runs};
use crate::web::{Caller, Web};

pub(super) async fn page(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    PageQuery(q): PageQuery<RunsQuery>,
) -> Result<Markup, PageError> {
    let runs = read_runs(&web, &q).await?;
    let config = web.config();
    let chosen = q.workflow.clone().unwrap_or_default();
    let frame = Frame { web: &web, caller: &caller, title: "Workflows", here: "/workflows", refresh: 3, notice: None };
    Ok(frame.render(html! {
        @if config.workflows.is_empty() && runs.is_empty() {
            p.empty { "jobs.toml has no workflows: see " code { "[workflows]" } " in " code { "man taskq.toml" } "." }
        } @else {
            form.filters method="get" action="/workflows" {
                label { "Workflow " select name="workflow" {
                    option value="" { "any" }
                    @for w in &config.workflows { option value=(w.name.as_str()) selected[chosen == w.name.as_str()] { (w.name.as_str()) } }
                } }
                button type="submit" { "Filter" }
            }
            @if runs.is_empty() {
                p.empty { "No runs." }
            } @else {
                div.scroll { table {
                    thead { tr { th { "Run" } th { "Workflow" } th { "State" } th { "Steps" } th { "Enqueued" } th { "Finished" } } }
                    tbody {
                        @for r in &runs {
                            @let v = RunView::from(r);
                            tr {
                                td.id { a href={ "/jobs/" (v.id) } { (v.id) } }
                                td { (v.workflow) }
                                td { (badge(&v.state.to_string())) }
                                td { @for s in &v.steps { span title=(s.name) { (badge(s.state)) } " " } }
                                td { (when(v.enqueued_at)) }
                                td { @if let Some(t) = v.finished_at { (when(t)) } @else { "-" } }
                            }
                        }
                    }
                } }
            }
        }
    }))
}
