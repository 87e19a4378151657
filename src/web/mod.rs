//! `taskq web`: the HTTP API under `/api/v1/` (the dashboard's pages are to
//! come): what application code (a Django view, a Node service) uses to
//! enqueue jobs and read their results without spawning a process. Every
//! request is authenticated (`auth.rs`) unless the server was started with
//! `--no-auth` on a loopback address.

mod api;
pub mod auth;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::config::Config;
use auth::{Role, Users};

/// What the handlers share.
pub struct Web {
    pub broker: Arc<dyn Broker>,
    pub config: Arc<Config>,
    /// `None`: `--no-auth`, every request an operator's.
    pub users: Option<Users>,
    /// Failed logins by client address, to slow password guessing.
    pub failures: Failures,
    /// Password checks under way at once: each takes argon2's 19 MiB and
    /// tens of milliseconds, so a flood of logins queues here instead of
    /// taking the host's memory.
    pub checks: tokio::sync::Semaphore,
}

/// Password checks at once (`Web::checks`).
pub const PARALLEL_CHECKS: usize = 4;

/// Failed logins per client address within a minute: past `MAX_FAILURES`
/// the address is answered 429 without a password being checked (each
/// check costs tens of milliseconds of CPU, by design).
#[derive(Default)]
pub struct Failures(Mutex<HashMap<IpAddr, (u32, Instant)>>);

/// Failed logins an address may have in `FAILURE_WINDOW`.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

impl Failures {
    fn blocked(&self, ip: IpAddr) -> bool {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(&ip).is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW)
    }

    fn failed(&self, ip: IpAddr) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        map.entry(ip).or_insert((0, Instant::now())).0 += 1;
    }
}

/// An API error: its status and one line saying what was wrong and how to
/// fix it, as the command line says it.
#[derive(Debug)]
pub(crate) struct ApiError(StatusCode, String);

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, message.into())
    }

    fn broker(e: &anyhow::Error) -> ApiError {
        tracing::error!(error = %e, "broker call failed");
        ApiError(StatusCode::SERVICE_UNAVAILABLE, format!("{e:#}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, axum::Json(json!({ "error": self.1 }))).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"taskq\""));
        }
        response
    }
}

/// The routes, behind authentication.
pub fn router(web: Arc<Web>) -> axum::Router {
    axum::Router::new()
        .route("/api/v1/jobs", get(api::list_jobs).post(api::enqueue))
        .route("/api/v1/jobs/{id}", get(api::get_job))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such resource: the API is under /api/v1/".into()) })
        .layer(axum::middleware::from_fn_with_state(web.clone(), authenticate))
        .with_state(web)
}

/// Puts the caller's `Role` on the request, or answers 401.
async fn authenticate(
    State(web): State<Arc<Web>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    if web.users.is_some() && web.failures.blocked(client.ip()) {
        return ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many failed logins from {}: try again in a minute", client.ip()),
        )
        .into_response();
    }
    let role = if web.users.is_none() {
        Some(Role::Operator)
    } else if let Some(header) = request.headers().get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()) {
        // argon2 takes tens of milliseconds: off the async threads, a few
        // at a time.
        let permit = web.checks.acquire().await.ok();
        let (checker, header) = (web.clone(), header.to_string());
        let role = tokio::task::spawn_blocking(move || checker.users.as_ref().and_then(|u| u.check(&header)))
            .await
            .ok()
            .flatten();
        drop(permit);
        role
    } else {
        None
    };
    let Some(role) = role else {
        if request.headers().contains_key(header::AUTHORIZATION) {
            web.failures.failed(client.ip());
        }
        return ApiError(
            StatusCode::UNAUTHORIZED,
            "authentication required: HTTP basic auth, or Authorization: Bearer NAME:SECRET, of a user in the auth file".into(),
        )
        .into_response();
    };
    request.extensions_mut().insert(role);
    next.run(request).await
}

/// Serves `web` on `listener` until `stop`.
pub async fn serve(listener: tokio::net::TcpListener, web: Arc<Web>, stop: CancellationToken) -> anyhow::Result<()> {
    axum::serve(listener, router(web).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await?;
    Ok(())
}
