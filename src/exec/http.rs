//! HTTP jobs: one request, its status judged against `success_status`, its
//! body kept as the output tail. Failures are classed retryable as an HTTP
//! client should: connect errors, timeouts, 408, 429 and 5xx.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};

use super::output::{OUTPUT_TAIL_BYTES, OutputSink, Stream, Tail};
use super::{Attempt, DEFAULT_HTTP_TIMEOUT, redirect};
use crate::config::template::{url_encode, verbatim};
use crate::config::{HttpAction, HttpBody};
use crate::job::{Detail, Outcome, RunStatus};

pub(super) async fn run(
    client: &reqwest::Client,
    action: &HttpAction,
    attempt: &Attempt<'_>,
    vars: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    sink: &dyn OutputSink,
    kill: &super::Kill,
) -> Outcome {
    let request = match build(action, attempt, vars) {
        Ok(r) => r,
        Err(e) => return Outcome::not_started(e),
    };
    let limit = attempt.def.timeout.unwrap_or(DEFAULT_HTTP_TIMEOUT);
    let started_at = Timestamp::now();
    let mut tail = Tail::new(OUTPUT_TAIL_BYTES);
    let result = tokio::select! {
        result = tokio::time::timeout(limit, send(client, request, &mut tail, sink)) => Some(result),
        () = kill.cancelled() => None,
    };
    let mut outcome = Outcome {
        status: RunStatus::Failed,
        detail: Detail::Http { status: None, retry_after: None },
        retryable: false,
        error: None,
        output: Vec::new(),
        output_total: 0,
        stdout: None,
        started_at,
        finished_at: Timestamp::now(),
    };
    match result {
        None => {
            outcome.status = RunStatus::Killed;
            outcome.error = Some("killed".into());
        }
        Some(Err(_elapsed)) => {
            outcome.status = RunStatus::TimedOut;
            outcome.retryable = true;
            outcome.error = Some(format!("timed out after {}", humantime::format_duration(limit)));
        }
        Some(Ok(Err(SendError::Request(e)))) => {
            outcome.retryable = true;
            outcome.error = Some(describe(&e));
        }
        Some(Ok(Err(SendError::Redirect(why)))) => outcome.error = Some(why),
        Some(Ok(Ok((status, retry_after)))) => {
            outcome.detail = Detail::Http { status: Some(status.as_u16()), retry_after: None };
            let ok = match &action.success_status {
                Some(list) => list.contains(&status.as_u16()),
                None => status.is_success(),
            };
            if ok {
                outcome.status = RunStatus::Succeeded;
            } else {
                outcome.retryable = matches!(status.as_u16(), 408 | 429 | 500..=599);
                outcome.detail = Detail::Http { status: Some(status.as_u16()), retry_after };
                outcome.error = Some(format!("HTTP status {status}"));
            }
        }
    }
    outcome.output_total = tail.total();
    outcome.output = tail.into_bytes();
    outcome
}

/// A job's request, filled in, ready to send and to send again on a redirect.
struct Prepared {
    method: Method,
    url: Url,
    /// The job's own headers, sent only to its URL's origin.
    headers: HeaderMap,
    body: Option<Vec<u8>>,
}

/// Renders the request; an error means the job cannot start.
fn build(
    action: &HttpAction,
    attempt: &Attempt<'_>,
    vars: &(dyn Fn(&str) -> Option<String> + Send + Sync),
) -> Result<Prepared, String> {
    let env = |name: &str| vars(name);
    let params = attempt.params;
    let url = if let Some(url) = &action.fixed_url {
        url.clone()
    } else {
        let url = action.url.render(params, url_encode, &env).map_err(|e| e.to_string())?;
        // Not the URL itself in the message: it may hold a secret from ${VAR}.
        Url::parse(&url).map_err(|e| format!("the job's url is not a valid URL once filled in: {e}"))?
    };
    let mut headers = HeaderMap::new();
    for (name, template) in &action.headers {
        let value = template.render(params, verbatim, &env).map_err(|e| format!("header {name}: {e}"))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| format!("header {name}: the value has characters not allowed in a header"))?;
        headers.append(name, value);
    }
    let body = match &action.body {
        HttpBody::None => None,
        HttpBody::Raw(template) => {
            Some(template.render(params, verbatim, &env).map_err(|e| e.to_string())?.into_bytes())
        }
        HttpBody::Json(value) => {
            let rendered = value.render(&|t| t.render(params, verbatim, &env)).map_err(|e| e.to_string())?;
            if !headers.contains_key(CONTENT_TYPE) {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Some(serde_json::to_vec(&rendered).map_err(|e| e.to_string())?)
        }
    };
    Ok(Prepared { method: action.method.clone(), url, headers, body })
}

enum SendError {
    Request(reqwest::Error),
    /// A redirect loop, or one to a URL an HTTP job does not follow: not
    /// worth retrying.
    Redirect(String),
}

/// Sends the request, following redirects, and reads the final body into
/// the tail.
async fn send(
    client: &reqwest::Client,
    request: Prepared,
    tail: &mut Tail,
    sink: &dyn OutputSink,
) -> Result<(reqwest::StatusCode, Option<Duration>), SendError> {
    let Prepared { mut method, url: origin, headers, mut body } = request;
    // The URL of a redirect's hop; none for the job's own.
    let mut hop_url: Option<Url> = None;
    for _ in 0..=redirect::MAX_REDIRECTS {
        let url = hop_url.as_ref().unwrap_or(&origin);
        let mut builder = client.request(method.clone(), url.clone());
        if hop_url.is_none() || redirect::same_origin(&origin, url) {
            builder = builder.headers(headers.clone());
        } else if let Some(content_type) = body.as_ref().and(headers.get(CONTENT_TYPE)) {
            builder = builder.header(CONTENT_TYPE, content_type.clone());
        }
        if let Some(bytes) = &body {
            builder = builder.body(bytes.clone());
        }
        let mut response = builder.send().await.map_err(SendError::Request)?;
        let status = response.status();
        match redirect::next(status, response.headers(), url, &method) {
            Some(Ok(hop)) => {
                if !hop.keeps_body {
                    body = None;
                }
                // The body can hold a secret as much as a header can (`${TOKEN}`
                // in `json`), and a 307/308 would re-send it: not to another origin.
                if body.as_ref().is_some_and(|b| !b.is_empty()) && !redirect::same_origin(&origin, &hop.url) {
                    return Err(SendError::Redirect(format!(
                        "redirected ({status}) to another origin, {}, which would be sent the job's body; \
                         taskq sends a job's body only to its own URL's origin: point the job at the new URL",
                        hop.url.origin().ascii_serialization()
                    )));
                }
                (hop_url, method) = (Some(hop.url), hop.method);
                continue;
            }
            Some(Err(why)) => return Err(SendError::Redirect(why)),
            None => {}
        }
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        while let Some(chunk) = response.chunk().await.map_err(SendError::Request)? {
            tail.push(&chunk);
            sink.write(Stream::Stdout, &chunk);
        }
        return Ok((status, retry_after));
    }
    Err(SendError::Redirect(format!("more than {} redirects", redirect::MAX_REDIRECTS)))
}

/// `Retry-After`: delay-seconds or an HTTP-date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let now = Timestamp::now();
    Some(if at > now { at.duration_since(now).unsigned_abs() } else { Duration::ZERO })
}

/// A reqwest error and its causes in one line, without the URL (it may hold
/// a secret from ${VAR}).
fn describe(err: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    if err.is_connect() {
        parts.push("connection failed".to_string());
    }
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    while let Some(e) = source {
        parts.push(e.to_string());
        source = e.source();
    }
    if parts.is_empty() {
        parts.push(err.to_string());
    }
    parts.dedup();
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let later = Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let header = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&later).unwrap();
        let got = parse_retry_after(&header).unwrap();
        assert!(got > Duration::from_secs(110) && got <= Duration::from_secs(120), "{got:?}");
        assert_eq!(parse_retry_after("soon"), None);
    }
}
