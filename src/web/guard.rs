//! What keeps another site from acting through a signed-in browser (CSRF),
//! and the headers every response carries.
//!
//! Two layers: every request that changes something is refused when the
//! browser says it comes from another site (`Sec-Fetch-Site`, or an
//! `Origin` that is not this host), which covers the JSON API too, since a
//! browser's cached basic-auth credentials go with a cross-site form; and
//! the dashboard's forms carry a token bound to the user, for browsers that
//! send neither header.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use blake2::digest::consts::U32;
use blake2::digest::{KeyInit, Mac};

use super::ApiError;

/// Issues and checks the forms' tokens: a keyed hash of the user's name
/// under a key random per process (a restart asks for a reload).
pub struct FormTokens {
    key: [u8; 32],
}

type Hasher = blake2::Blake2bMac<U32>;

impl FormTokens {
    pub fn new() -> FormTokens {
        FormTokens { key: rand::random() }
    }

    /// The token of `user`'s forms.
    pub fn issue(&self, user: &str) -> String {
        self.mac(user).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `token` is `user`'s, compared in constant time.
    pub fn check(&self, user: &str, token: &str) -> bool {
        let Some(bytes) = hex(token) else { return false };
        self.mac(user).verify_slice(&bytes).is_ok()
    }

    fn mac(&self, user: &str) -> Hasher {
        // A 32-byte key is within BLAKE2b's limit: this cannot fail.
        let mut mac = <Hasher as KeyInit>::new_from_slice(&self.key).expect("a 32-byte key");
        mac.update(b"taskq form\0");
        mac.update(user.as_bytes());
        mac
    }
}

impl Default for FormTokens {
    fn default() -> Self {
        FormTokens::new()
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// Refuses a request that would change something when the browser says
/// another site sent it. Clients that are not browsers send neither header
/// and pass.
pub(crate) async fn same_origin(request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !from_this_site(&request) {
        return ApiError(
            StatusCode::FORBIDDEN,
            "cross-site request refused: changes come from taskq's own pages, or from a client that is not a browser"
                .into(),
        )
        .into_response();
    }
    next.run(request).await
}

fn from_this_site(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    // "null" (a sandboxed frame, a file:) is another site too.
    origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .is_some_and(|(_, authority)| !host.is_empty() && authority.eq_ignore_ascii_case(host))
}

/// The policy of every response: scripts and styles from this server only
/// (no inline ones), never framed, no referrer to other sites.
pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    set(h, HeaderName::from_static("cross-origin-resource-policy"), "same-origin");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_its_users_only() {
        let tokens = FormTokens::new();
        let t = tokens.issue("ann");
        assert!(tokens.check("ann", &t));
        assert!(!tokens.check("bob", &t));
        assert!(!tokens.check("ann", &t[..62]));
        assert!(!tokens.check("ann", ""));
        assert!(!FormTokens::new().check("ann", &t), "another process's key");
    }
}
