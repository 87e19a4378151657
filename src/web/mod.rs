//! `taskq web`: the dashboard (`pages/`, server-rendered HTML that reads
//! without JavaScript) and the JSON API under `/api/v1/` that application
//! code (a Django view, a Node service) uses to enqueue jobs and read their
//! results without spawning a process. Every request is authenticated
//! (`auth.rs`) unless the server was started with `--no-auth` on a
//! loopback address; changes are guarded against other sites (`guard.rs`).

mod actions;
mod api;
pub mod auth;
mod events;
mod guard;
mod openapi;
mod pages;
mod server;

pub use server::{serve, tls_acceptor};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::broker::Broker;
use crate::config::Config;
use auth::{Role, Users};

/// What the handlers share.
pub struct Web {
    pub broker: Arc<dyn Broker>,
    /// jobs.toml as last read (a SIGHUP reads it again).
    pub config: std::sync::RwLock<Arc<Config>>,
    /// The auth file's users, and the file (read again at SIGHUP); `None`:
    /// `--no-auth`, every request an operator's.
    pub users: Option<(std::sync::RwLock<Arc<Users>>, std::path::PathBuf)>,
    /// Failed logins by client address, to slow password guessing.
    pub failures: Failures,
    /// Password checks under way at once: each takes argon2's 19 MiB and
    /// tens of milliseconds, so a flood of logins queues here instead of
    /// taking the host's memory.
    pub checks: tokio::sync::Semaphore,
    /// The dashboard forms' tokens.
    pub tokens: guard::FormTokens,
    /// Job state changes for `/api/v1/events`.
    pub events: events::Feed,
}

impl Web {
    pub fn new(broker: Arc<dyn Broker>, config: Config, users: Option<(Users, std::path::PathBuf)>) -> Web {
        Web {
            broker,
            config: std::sync::RwLock::new(Arc::new(config)),
            users: users.map(|(users, path)| (std::sync::RwLock::new(Arc::new(users)), path)),
            failures: Failures::default(),
            checks: tokio::sync::Semaphore::new(PARALLEL_CHECKS),
            tokens: guard::FormTokens::new(),
            events: events::Feed::default(),
        }
    }

    /// jobs.toml as last read.
    pub fn config(&self) -> Arc<Config> {
        self.config.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The auth file's users as last read (`None`: `--no-auth`).
    pub fn users(&self) -> Option<Arc<Users>> {
        let (users, _) = self.users.as_ref()?;
        Some(users.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }

    /// Reads the auth file again; the error says why the users read before
    /// are kept. Nothing to do under `--no-auth`.
    pub fn reload_users(&self) -> Result<usize, String> {
        let Some((users, path)) = &self.users else { return Ok(0) };
        let fresh = Users::load(path)?;
        let count = fresh.count();
        *users.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(fresh);
        Ok(count)
    }

    /// Takes a jobs.toml read again.
    pub fn set_config(&self, config: Config) {
        *self.config.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(config);
    }
}

/// Who is asking: the user's name (empty under `--no-auth`) and role.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

impl Caller {
    /// Refuses a caller below `operator` for `what` ("retrying").
    pub(crate) fn operator(&self, what: &str) -> Result<(), ApiError> {
        if self.role < Role::Operator {
            return Err(ApiError(StatusCode::FORBIDDEN, format!("{what} needs the operator role")));
        }
        Ok(())
    }
}

/// Password checks at once (`Web::checks`).
const PARALLEL_CHECKS: usize = 4;

/// Failed logins within a minute, per client address and user name, and
/// per address: past their bounds the pair (or the whole address) is
/// answered 429 without a password being checked, a right one included,
/// so that a blocked client learns nothing. Guesses at one user lock out
/// that user alone from the address (behind a proxy: from everywhere);
/// only guesses at many users lock out the address.
#[derive(Default)]
pub struct Failures(Mutex<FailureCounts>);

#[derive(Default)]
pub struct FailureCounts {
    by_user: HashMap<(IpAddr, String), (u32, Instant)>,
    by_address: HashMap<IpAddr, (u32, Instant)>,
}

/// Failed logins for one user from one address in `FAILURE_WINDOW`.
const MAX_FAILURES: u32 = 10;
/// Failed logins from one address, whatever the users, in `FAILURE_WINDOW`.
const MAX_ADDRESS_FAILURES: u32 = 100;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

impl Failures {
    /// Whether `user` from `ip` has used its tries for now. Checks run a
    /// few at a time (`PARALLEL_CHECKS`), so logins sent all at once outrun
    /// the count by that many at most.
    fn blocked(&self, ip: IpAddr, user: &str) -> bool {
        let mut counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.by_user.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        counts.by_address.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        counts.by_address.get(&ip).is_some_and(|(n, _)| *n >= MAX_ADDRESS_FAILURES)
            || counts.by_user.get(&(ip, user.to_string())).is_some_and(|(n, _)| *n >= MAX_FAILURES)
    }

    /// A login of `user` from `ip` failed.
    fn failed(&self, ip: IpAddr, user: &str) {
        let mut counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.by_user.entry((ip, user.to_string())).or_insert((0, Instant::now())).0 += 1;
        counts.by_address.entry(ip).or_insert((0, Instant::now())).0 += 1;
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

    /// An error of `crate::control`: an unknown id is 404, a mistake in the
    /// request 400, a refusal (not failed, already ended) 409, a broker
    /// that does not answer 503.
    fn from_control(e: anyhow::Error) -> ApiError {
        use crate::exit::{Failed, UnknownIds, UsageError};
        let status = if e.is::<UnknownIds>() {
            StatusCode::NOT_FOUND
        } else if e.is::<UsageError>() {
            StatusCode::BAD_REQUEST
        } else if e.is::<Failed>() {
            StatusCode::CONFLICT
        } else {
            return ApiError::broker(&e);
        };
        ApiError(status, format!("{e:#}"))
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.0
    }

    pub(crate) fn message(&self) -> &str {
        &self.1
    }
}

/// A broker that does not answer (or answers nonsense): 503, logged.
impl From<crate::broker::BrokerError> for ApiError {
    fn from(e: crate::broker::BrokerError) -> Self {
        ApiError::broker(&e.into())
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

/// The routes, behind authentication; the stylesheet and script are
/// served to anyone (they hold nothing of the broker's).
pub fn router(web: Arc<Web>) -> axum::Router {
    let api = api::routes();
    let pages = pages::routes();
    axum::Router::new()
        .merge(api)
        .merge(pages)
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such page: the API is under /api/v1/".into()) })
        .layer(axum::middleware::from_fn_with_state(web.clone(), authenticate))
        .layer(axum::middleware::from_fn(guard::same_origin))
        .merge(pages::assets())
        .layer(axum::middleware::from_fn(guard::headers))
        .with_state(web)
}

/// Puts the caller's `Role` on the request, or answers 401.
async fn authenticate(
    State(web): State<Arc<Web>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let role = match web.users() {
        // A page elsewhere can point a name of its own at 127.0.0.1 (DNS
        // rebinding): without users, only requests for a loopback name count.
        None if !loopback_host(&request) => {
            return ApiError(
                StatusCode::MISDIRECTED_REQUEST,
                "--no-auth answers requests for localhost or a loopback address only".into(),
            )
            .into_response();
        }
        None => Some((String::new(), Role::Operator)),
        Some(users) => {
            let credentials = request.headers().get(header::AUTHORIZATION).and_then(|h| h.to_str().ok());
            match credentials.and_then(auth::credentials) {
                None => None,
                Some((name, _)) if web.failures.blocked(client.ip(), &name) => {
                    let mut response = ApiError(
                        StatusCode::TOO_MANY_REQUESTS,
                        format!("too many failed logins as \"{name}\" from {}: try again in a minute", client.ip()),
                    )
                    .into_response();
                    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
                    return response;
                }
                Some((name, password)) => {
                    // A password found right lately is not hashed again:
                    // answered here, without a trip to the blocking pool's
                    // thread and back (two thread wake-ups per API call).
                    if let Some(role) = users.remembered(&name, &password) {
                        Some((name, role))
                    } else {
                        // argon2 takes tens of milliseconds and 19 MiB: off
                        // the async threads, a few at a time.
                        let permit = web.checks.acquire().await.ok();
                        let who = name.clone();
                        let role =
                            tokio::task::spawn_blocking(move || users.check(&who, &password)).await.ok().flatten();
                        drop(permit);
                        if role.is_none() {
                            web.failures.failed(client.ip(), &name);
                        }
                        role.map(|role| (name, role))
                    }
                }
            }
        }
    };
    let Some((name, role)) = role else {
        return ApiError(
            StatusCode::UNAUTHORIZED,
            "authentication required: HTTP basic auth, or Authorization: Bearer NAME:SECRET, of a user in the auth file".into(),
        )
        .into_response();
    };
    request.extensions_mut().insert(Caller { name, role });
    next.run(request).await
}

/// Whether the request names localhost or a loopback address as its host.
fn loopback_host(request: &Request) -> bool {
    let Some(host) = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
