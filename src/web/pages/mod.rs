//! The dashboard: server-rendered pages (maud) that read without
//! JavaScript; `app.js` refreshes them in place every few seconds and
//! follows a running job's output over server-sent events. Buttons are
//! forms carrying the user's token (guard.rs) that answer with a redirect
//! back and a notice signed by this server, so that a crafted link cannot
//! make the page say something taskq did not.

mod failed;
mod jobs;
mod overview;
mod schedules;
mod workers;
mod workflows;

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::actions::{self, Done};
use super::{ApiError, Caller, Web};
use crate::job::JobState;

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");
const ICON: &str = include_str!("../assets/icon.svg");

/// The pages and their forms' actions.
pub(super) fn routes() -> axum::Router<Arc<Web>> {
    axum::Router::new()
        .route("/", get(overview::page))
        .route("/jobs", get(jobs::list))
        .route("/jobs/{id}", get(jobs::page))
        .route("/jobs/{id}/retry", post(retry_job))
        .route("/jobs/{id}/revoke", post(revoke_job))
        .route("/failed", get(failed::page))
        .route("/failed/retry", post(retry_failed))
        .route("/failed/purge", get(failed::confirm_purge).post(purge_failed))
        .route("/schedules", get(schedules::page))
        .route("/schedules/{name}/{action}", post(control_schedule))
        .route("/workers", get(workers::page))
        .route("/workflows", get(workflows::page))
}

/// The stylesheet, script and icon: the same for everyone, asked before a login.
pub(super) fn assets() -> axum::Router<Arc<Web>> {
    let cached = |kind: &'static str, body: &'static str| {
        move || async move { ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "max-age=300")], body) }
    };
    axum::Router::new()
        .route("/static/app.css", get(cached("text/css; charset=utf-8", CSS)))
        .route("/static/app.js", get(cached("text/javascript; charset=utf-8", JS)))
        .route("/static/icon.svg", get(cached("image/svg+xml", ICON)))
        // Browsers ask for it whatever the page says.
        .route("/favicon.ico", get(cached("image/svg+xml", ICON)))
}

/// A page's frame: the navigation, the notice an action left, and `main`,
/// which app.js replaces every `refresh` seconds (0: never).
pub(super) struct Frame<'a> {
    pub web: &'a Web,
    pub caller: &'a Caller,
    pub title: &'a str,
    pub here: &'a str,
    pub refresh: u32,
    pub notice: Option<&'a str>,
}

impl Frame<'_> {
    pub(crate) fn render(&self, main: Markup) -> Markup {
        let nav = [
            ("/", "Overview"),
            ("/jobs", "Jobs"),
            ("/failed", "Failed"),
            ("/schedules", "Schedules"),
            ("/workers", "Workers"),
            ("/workflows", "Workflows"),
        ];
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="color-scheme" content="light dark";
                    title { (self.title) " · taskq" }
                    link rel="icon" href="/static/icon.svg" type="image/svg+xml";
                    link rel="stylesheet" href="/static/app.css";
                    script src="/static/app.js" defer {}
                }
                body {
                    header {
                        a.brand href="/" { "taskq" }
                        nav {
                            @for (href, label) in nav {
                                a href=(href) aria-current=[(href == self.here).then_some("page")] { (label) }
                            }
                        }
                        span.who {
                            @if self.caller.name.is_empty() { "no auth" } @else { (self.caller.name) }
                            " · " (self.caller.role.as_str())
                        }
                    }
                    @if let Some(notice) = self.notice {
                        p.notice role="status" { (notice) }
                    }
                    main id="live" data-refresh=(self.refresh) {
                        h1 { (self.title) }
                        (main)
                    }
                    footer { "broker " (self.web.broker.describe()) }
                }
            }
        }
    }

    /// A button that posts to `action` with the user's token.
    pub(crate) fn button(&self, action: &str, label: &str, class: &str) -> Markup {
        self.form(action, label, class, html! {})
    }

    /// A form posting to `action` with the user's token and `fields`.
    pub(crate) fn form(&self, action: &str, label: &str, class: &str, fields: Markup) -> Markup {
        let token = self.web.tokens.issue(&self.caller.name);
        html! {
            form.inline method="post" action=(action) {
                input type="hidden" name="csrf" value=(token);
                (fields)
                button.(class) type="submit" disabled[self.caller.role < super::auth::Role::Operator] { (label) }
            }
        }
    }
}

/// The query every page takes: a notice an action left, and its signature.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Notice {
    notice: Option<String>,
    sig: Option<String>,
}

impl Notice {
    /// The notice, when this server signed it.
    pub(crate) fn text(&self, web: &Web) -> Option<String> {
        let (text, sig) = (self.notice.as_ref()?, self.sig.as_ref()?);
        web.tokens.check(&format!("notice\0{text}"), sig).then(|| text.clone())
    }
}

/// A page's error: the API's status and message, as a page.
pub(super) struct PageError(ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl From<crate::broker::BrokerError> for PageError {
    fn from(e: crate::broker::BrokerError) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (status.as_u16()) " · taskq" }
                    link rel="stylesheet" href="/static/app.css";
                }
                body {
                    main {
                        h1 { (status.canonical_reason().unwrap_or("error")) }
                        p.error { (self.0.message()) }
                        p { a href="/" { "Back to the overview" } }
                    }
                }
            }
        };
        (status, body).into_response()
    }
}

/// What a dashboard form posts.
#[derive(Debug, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    /// revoke: kill the job if it runs.
    #[serde(default)]
    terminate: Option<String>,
}

/// Checks the form's token and the role, runs `action`, and sends the
/// browser back to `to` with its notice.
async fn act<F>(
    web: &Web,
    caller: &Caller,
    form: &ActionForm,
    what: &str,
    to: &str,
    action: F,
) -> Result<Response, PageError>
where
    F: std::future::Future<Output = Result<Done, ApiError>>,
{
    if !web.tokens.check(&caller.name, &form.csrf) {
        return Err(PageError(ApiError(
            StatusCode::FORBIDDEN,
            "the form's token is missing or stale (taskq web restarted?): reload the page and try again".into(),
        )));
    }
    caller.operator(what)?;
    let done = action.await?;
    Ok(back(web, to, &done.message))
}

/// A redirect to `to` showing `message`.
fn back(web: &Web, to: &str, message: &str) -> Response {
    let sig = web.tokens.issue(&format!("notice\0{message}"));
    let sep = if to.contains('?') { '&' } else { '?' };
    let query = serde_urlencoded_pair("notice", message);
    Redirect::to(&format!("{to}{sep}{query}&sig={sig}")).into_response()
}

fn serde_urlencoded_pair(name: &str, value: &str) -> String {
    let encoded = percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC);
    format!("{name}={encoded}")
}

type Form = PageForm<ActionForm>;

async fn retry_job(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    PageForm(form): Form,
) -> Result<Response, PageError> {
    let job = super::api::job_id(&web, &id).await?;
    act(&web, &caller, &form, "retrying", &format!("/jobs/{job}"), actions::retry(&web, Some(job))).await
}

async fn revoke_job(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    PageForm(form): Form,
) -> Result<Response, PageError> {
    let job = super::api::job_id(&web, &id).await?;
    let terminate = form.terminate.is_some();
    act(&web, &caller, &form, "revoking", &format!("/jobs/{job}"), actions::revoke(&web, job, terminate)).await
}

async fn retry_failed(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    PageForm(form): Form,
) -> Result<Response, PageError> {
    act(&web, &caller, &form, "retrying", "/failed", actions::retry(&web, None)).await
}

async fn purge_failed(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    PageForm(form): Form,
) -> Result<Response, PageError> {
    act(&web, &caller, &form, "purging", "/failed", actions::purge(&web, &crate::broker::Purge::Failed)).await
}

async fn control_schedule(
    State(web): State<Arc<Web>>,
    Extension(caller): Extension<Caller>,
    Path((name, action)): Path<(String, String)>,
    PageForm(form): Form,
) -> Result<Response, PageError> {
    match action.as_str() {
        "pause" | "resume" => {
            let paused = action == "pause";
            act(&web, &caller, &form, "pausing a schedule", "/schedules", actions::pause(&web, &name, paused)).await
        }
        "trigger" => {
            act(&web, &caller, &form, "triggering a schedule", "/schedules", actions::trigger(&web, &name)).await
        }
        other => Err(PageError(ApiError(StatusCode::NOT_FOUND, format!("no action \"{other}\" on a schedule")))),
    }
}

/// An instant as the command line shows it, machine-readable beside.
pub(super) fn when(t: Timestamp) -> Markup {
    html! { time datetime=(crate::time::rfc3339_utc(t)) { (crate::time::local(t)) } }
}

/// An RFC 3339 text of a view, shown as `when` does.
pub(super) fn when_text(t: Option<&str>) -> Markup {
    match t.map(str::parse::<Timestamp>) {
        Some(Ok(t)) => when(t),
        Some(Err(_)) => html! { (t.unwrap_or_default()) },
        None => html! { "-" },
    }
}

/// A state as a coloured badge.
pub(super) fn badge(state: &str) -> Markup {
    html! { span class={ "state " (state) } { (state) } }
}

pub(super) fn state_badge(state: JobState) -> Markup {
    badge(&state.to_string())
}

/// The query of a page that takes only a notice.
pub(super) type NoticeQuery = PageQuery<Notice>;

/// A page's query string; a bad one is answered with a page saying so.
pub(super) struct PageQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, PageError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(PageQuery(value)),
            Err(e) => Err(PageError(ApiError::bad_request(format!("{}: fix the address", e.body_text())))),
        }
    }
}

/// A form a page posts; anything else is answered with a page saying so.
pub(super) struct PageForm<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, PageError> {
        match axum::extract::Form::<T>::from_request(request, state).await {
            Ok(axum::extract::Form(value)) => Ok(PageForm(value)),
            Err(e) => Err(PageError(ApiError::bad_request(format!(
                "{}: use the buttons of taskq's pages (the API under /api/v1/ takes JSON)",
                e.body_text()
            )))),
        }
    }
}
