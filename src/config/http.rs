//! An HTTP job's `http` table: method, url, headers, and `json` or `body`,
//! each template parsed so errors have a place.

use toml::de::DeValue;

use super::def::{HttpAction, HttpBody};
use super::error::Diagnostics;
use super::fields::template;
use super::raw::{self, Table, Value};
use super::template::{Syntax, Template};

/// The keys of a job's `http` table.
pub(super) const HTTP_KEYS: &[&str] = &["method", "url", "headers", "json", "body"];

pub(super) fn http(diag: &mut Diagnostics<'_>, v: &Value<'_>) -> Option<HttpAction> {
    let DeValue::Table(t) = v.get_ref() else {
        diag.error(&v.span(), "\"http\" must be a table with at least a url: http = { url = \"https://...\" }");
        return None;
    };
    let table = Table { table: t };
    table.check_keys(diag, HTTP_KEYS, &[]);
    let mut ok = true;
    let method = match table.get("method") {
        None => reqwest::Method::GET,
        Some(m) => {
            let text = raw::string(diag, "method", m)?.to_ascii_uppercase();
            match reqwest::Method::from_bytes(text.as_bytes()) {
                Ok(m) if text.bytes().all(|b| b.is_ascii_alphabetic()) => m,
                _ => {
                    diag.error(
                        &m.span(),
                        format!("invalid HTTP method \"{text}\": use GET, POST, PUT, PATCH, DELETE or HEAD"),
                    );
                    ok = false;
                    reqwest::Method::GET
                }
            }
        }
    };
    let url = match table.get("url") {
        None => {
            diag.error(&v.span(), "\"http\" needs a \"url\"");
            None
        }
        Some(u) => template(diag, "url", u, Syntax::ParamsAndEnv).filter(|t| {
            let scheme_ok = t.literal_prefix().is_none_or(|p| {
                let p = p.to_ascii_lowercase();
                p.starts_with("http://")
                    || p.starts_with("https://")
                    || "https://".starts_with(&p)
                    || "http://".starts_with(&p)
            });
            if !scheme_ok {
                diag.error(&u.span(), "\"url\" must start with http:// or https://");
            }
            scheme_ok
        }),
    };
    let mut headers = Vec::new();
    if let Some(h) = table.get("headers")
        && let Some(map) = raw::string_table(diag, "headers", h)
    {
        for (name, (value, span)) in map {
            let Ok(header) = reqwest::header::HeaderName::from_bytes(name.as_bytes()) else {
                diag.error(&span, format!("invalid header name \"{name}\""));
                ok = false;
                continue;
            };
            match Template::parse(&value, Syntax::ParamsAndEnv) {
                Ok(t) => headers.push((header, t)),
                Err(e) => {
                    diag.error(&span, format!("\"headers.{name}\": {e}"));
                    ok = false;
                }
            }
        }
    }
    let body = match (table.get("json"), table.get("body")) {
        (Some(_), Some(b)) => {
            diag.error(&b.span(), "\"http\" has both \"json\" and \"body\": keep one");
            ok = false;
            HttpBody::None
        }
        (Some(j), None) => {
            if let Some(value) = raw::json(diag, j) {
                match JsonTemplate::parse(&value) {
                    Ok(template) => HttpBody::Json(template),
                    Err(e) => {
                        diag.error(&j.span(), format!("\"json\": {e}"));
                        ok = false;
                        HttpBody::None
                    }
                }
            } else {
                ok = false;
                HttpBody::None
            }
        }
        (None, Some(b)) => {
            if let Some(t) = template(diag, "body", b, Syntax::ParamsAndEnv) {
                HttpBody::Raw(t)
            } else {
                ok = false;
                HttpBody::None
            }
        }
        (None, None) => HttpBody::None,
    };
    let url = url?;
    let fixed_url = url.literal().and_then(|text| reqwest::Url::parse(text).ok());
    ok.then_some(HttpAction { method, url, fixed_url, headers, body, success_status: None })
}

/// A `json` body: a JSON document whose strings are templates, parsed once
/// when the config loads.
#[derive(Debug, Clone)]
pub enum JsonTemplate {
    String(Template),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
    /// A number, a boolean or null: sent as it is.
    Literal(serde_json::Value),
}

impl JsonTemplate {
    pub(crate) fn parse(value: &serde_json::Value) -> Result<JsonTemplate, String> {
        use serde_json::Value as J;
        Ok(match value {
            J::String(s) => JsonTemplate::String(Template::parse(s, Syntax::ParamsAndEnv)?),
            J::Array(items) => JsonTemplate::Array(items.iter().map(JsonTemplate::parse).collect::<Result<_, _>>()?),
            J::Object(map) => JsonTemplate::Object(
                map.iter().map(|(k, v)| Ok((k.clone(), JsonTemplate::parse(v)?))).collect::<Result<_, String>>()?,
            ),
            other => JsonTemplate::Literal(other.clone()),
        })
    }

    /// Every template among the document's strings.
    pub fn templates(&self) -> Vec<&Template> {
        match self {
            JsonTemplate::String(t) => vec![t],
            JsonTemplate::Array(items) => items.iter().flat_map(JsonTemplate::templates).collect(),
            JsonTemplate::Object(entries) => entries.iter().flat_map(|(_, v)| v.templates()).collect(),
            JsonTemplate::Literal(_) => Vec::new(),
        }
    }

    /// The document with each string rendered by `render`; values land as
    /// JSON strings, escaped by serialization.
    pub fn render<E>(&self, render: &dyn Fn(&Template) -> Result<String, E>) -> Result<serde_json::Value, E> {
        use serde_json::Value as J;
        Ok(match self {
            JsonTemplate::String(t) => J::String(render(t)?),
            JsonTemplate::Array(items) => J::Array(items.iter().map(|i| i.render(render)).collect::<Result<_, _>>()?),
            JsonTemplate::Object(entries) => {
                J::Object(entries.iter().map(|(k, v)| Ok((k.clone(), v.render(render)?))).collect::<Result<_, E>>()?)
            }
            JsonTemplate::Literal(v) => v.clone(),
        })
    }
}
