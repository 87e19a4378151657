//! Following an HTTP job's redirects by hand, so that the job's own headers
//! (an `X-Api-Key = "${TOKEN}"` as much as an `Authorization`) are sent only
//! to the origin its URL names. reqwest's policy can only drop the headers it
//! knows to be secret, and a job's secret can be in any header.

use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode, Url};

/// As browsers and reqwest: enough for any sane chain, few enough for a loop.
pub(super) const MAX_REDIRECTS: usize = 10;

/// Where a redirect response sends the request next.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Hop {
    pub url: Url,
    pub method: Method,
    /// False when the redirect turns the request into a GET without a body.
    pub keeps_body: bool,
}

/// The next request after `response`, or `None` when it is not a redirect
/// to follow (no `Location`, or one that does not parse: the 3xx is then
/// the job's answer, judged like any other status).
pub(super) fn next(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    url: &Url,
    method: &Method,
) -> Option<Result<Hop, String>> {
    let keeps_body = match status {
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => true,
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER => false,
        _ => return None,
    };
    let location = headers.get(LOCATION)?.to_str().ok()?;
    let target = url.join(location).ok()?;
    if !matches!(target.scheme(), "http" | "https") {
        return Some(Err(format!(
            "redirected ({status}) to a {} URL, which an HTTP job does not follow",
            target.scheme()
        )));
    }
    // 301, 302 and 303 turn a request with a body into a GET, as clients do.
    let method = if keeps_body || *method == Method::HEAD { method.clone() } else { Method::GET };
    Some(Ok(Hop { url: target, method, keeps_body }))
}

/// Whether the job's own headers may go to `url`: only to the origin (scheme,
/// host and port) of the URL the job names.
pub(super) fn same_origin(job_url: &Url, url: &Url) -> bool {
    job_url.origin() == url.origin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn hop(status: u16, location: &str, method: Method) -> Option<Result<Hop, String>> {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, HeaderValue::from_str(location).unwrap());
        let url = Url::parse("https://api.example/v1/items?x=1").unwrap();
        next(StatusCode::from_u16(status).unwrap(), &headers, &url, &method)
    }

    #[test]
    fn methods_and_bodies_change_as_clients_do() {
        let h = hop(303, "/done", Method::POST).unwrap().unwrap();
        assert_eq!((h.url.as_str(), h.method, h.keeps_body), ("https://api.example/done", Method::GET, false));
        let h = hop(307, "https://other.example/x", Method::POST).unwrap().unwrap();
        assert_eq!((h.url.as_str(), h.method, h.keeps_body), ("https://other.example/x", Method::POST, true));
        let h = hop(302, "next", Method::HEAD).unwrap().unwrap();
        assert_eq!((h.url.as_str(), h.method), ("https://api.example/v1/next", Method::HEAD));
        assert!(hop(200, "/x", Method::GET).is_none());
        assert!(hop(304, "/x", Method::GET).is_none());
        assert!(hop(302, "file:///etc/passwd", Method::GET).unwrap().is_err());
    }

    #[test]
    fn only_the_same_scheme_host_and_port_is_the_same_origin() {
        let job = Url::parse("https://api.example/v1").unwrap();
        assert!(same_origin(&job, &Url::parse("https://api.example:443/other").unwrap()));
        for other in ["http://api.example/v1", "https://api.example:8443/v1", "https://evil.example/v1"] {
            assert!(!same_origin(&job, &Url::parse(other).unwrap()), "{other}");
        }
    }
}
