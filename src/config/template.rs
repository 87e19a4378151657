//! `{{param}}` and `${VAR}` templates: parsed once at config load (so syntax
//! errors have a place), rendered when a job runs. Parameter values are
//! inserted through an encoder chosen by the context (percent-encoded,
//! verbatim) and are never themselves expanded, so a value cannot pull a
//! secret out of the worker's environment.
//!
//! Shell commands never contain values at all: `render_shell` turns each
//! `{{name}}` into a quoted reference to `$TASKQ_PARAM_name` and the value
//! travels in the environment. The shell does not parse the result of an
//! expansion as syntax, so no value can inject shell syntax, whatever
//! quotes the placeholder stands in.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Which placeholders a template understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `{{param}}` only: shell commands, where `$VAR` belongs to the shell.
    Params,
    /// `{{param}}` and `${VAR}`: URLs, headers, bodies.
    ParamsAndEnv,
    /// `${VAR}` only: `env` values.
    Env,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Env(String),
}

/// A part of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Literal(&'a str),
    /// `{{name}}`.
    Param(&'a str),
    /// `${NAME}`.
    Env(&'a str),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(
        "environment variable \"{0}\" is not set in the worker's environment; set it for the worker or remove ${{{0}}} from the job"
    )]
    UnsetVar(String),
    #[error("missing parameter \"{0}\"")]
    MissingParam(String),
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Template {
    /// Parses `text`; the error says what is wrong, without a place.
    pub fn parse(text: &str, syntax: Syntax) -> Result<Template, String> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        loop {
            let param_at = if syntax == Syntax::Env { None } else { rest.find("{{") };
            let env_at = if syntax == Syntax::Params { None } else { rest.find("${") };
            let (at, is_param) = match (param_at, env_at) {
                (None, None) => break,
                (Some(p), Some(e)) if e < p => (e, false),
                (Some(p), _) => (p, true),
                (None, Some(e)) => (e, false),
            };
            literal.push_str(&rest[..at]);
            let (open, close) = if is_param { ("{{", "}}") } else { ("${", "}") };
            let after = &rest[at + open.len()..];
            let Some(end) = after.find(close) else {
                return Err(format!("unclosed \"{open}\": add \"{close}\" after the name"));
            };
            let name = after[..end].trim();
            if !is_identifier(name) {
                let what = if is_param { "parameter" } else { "environment variable" };
                return Err(format!(
                    "invalid {what} name \"{name}\" in \"{open}{}{close}\": use letters, digits and _",
                    &after[..end]
                ));
            }
            if !literal.is_empty() {
                segments.push(Segment::Literal(std::mem::take(&mut literal)));
            }
            let name = name.to_string();
            segments.push(if is_param { Segment::Param(name) } else { Segment::Env(name) });
            rest = &after[end + close.len()..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Template { segments })
    }

    /// The template's parts in order, for code that must know where a
    /// placeholder stands (`contexts.rs`).
    pub fn pieces(&self) -> impl Iterator<Item = Piece<'_>> {
        self.segments.iter().map(|s| match s {
            Segment::Literal(t) => Piece::Literal(t),
            Segment::Param(n) => Piece::Param(n),
            Segment::Env(n) => Piece::Env(n),
        })
    }

    /// The parameter names this template uses.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(p) => Some(p.as_str()),
            _ => None,
        })
    }

    /// The whole text, if the template has no placeholder.
    pub fn literal(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [] => Some(""),
            [Segment::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// Whether the template begins with literal text (not a placeholder).
    pub fn literal_prefix(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Literal(s)) => Some(s),
            _ => None,
        }
    }

    /// Renders with `params` passed through `encode` and `${VAR}` read by `env`.
    pub fn render(
        &self,
        params: &BTreeMap<String, String>,
        encode: fn(&str) -> Cow<'_, str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, RenderError> {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(s) => out.push_str(s),
                Segment::Param(name) => {
                    let value = params.get(name).ok_or_else(|| RenderError::MissingParam(name.clone()))?;
                    out.push_str(&encode(value));
                }
                Segment::Env(name) => {
                    out.push_str(&env(name).ok_or_else(|| RenderError::UnsetVar(name.clone()))?);
                }
            }
        }
        Ok(out)
    }
}

/// Where a placeholder stands in a shell command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    None,
    Single,
    Double,
}

/// The quoting state after `text`, starting in `state` (POSIX sh rules;
/// nested `$(...)` is not tracked: a wrong guess there can only split a value
/// into words, never execute it).
fn scan(mut state: Quoting, text: &str) -> Quoting {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        state = match (state, c) {
            (Quoting::None | Quoting::Double, '\\') => {
                chars.next();
                state
            }
            (Quoting::None, '\'') => Quoting::Single,
            (Quoting::None, '"') => Quoting::Double,
            (Quoting::Single, '\'') | (Quoting::Double, '"') => Quoting::None,
            _ => state,
        };
    }
    state
}

/// The environment variable that carries parameter `name` to a shell job.
pub fn param_var(name: &str) -> String {
    format!("TASKQ_PARAM_{name}")
}

impl Template {
    /// A shell command with each `{{name}}` replaced by a reference to
    /// `$TASKQ_PARAM_name`, quoted so the value stays one word: `"${V}"`
    /// outside quotes, `${V}` inside double quotes, `'"${V}"'` inside single
    /// quotes.
    pub fn render_shell(&self) -> String {
        let mut out = String::new();
        let mut state = Quoting::None;
        for segment in &self.segments {
            match segment {
                Segment::Literal(s) => {
                    out.push_str(s);
                    state = scan(state, s);
                }
                Segment::Param(name) | Segment::Env(name) => {
                    let var = param_var(name);
                    match state {
                        Quoting::None => out.push_str(&format!("\"${{{var}}}\"")),
                        Quoting::Double => out.push_str(&format!("${{{var}}}")),
                        Quoting::Single => out.push_str(&format!("'\"${{{var}}}\"'")),
                    }
                }
            }
        }
        out
    }
}

/// Adds every parameter `text` uses to `into` (for templates kept as text,
/// such as the strings of a JSON body).
pub fn collect_params(template: &Template, into: &mut BTreeSet<String>) {
    into.extend(template.params().map(str::to_string));
}

/// Inserts a value verbatim.
pub fn verbatim(value: &str) -> Cow<'_, str> {
    Cow::Borrowed(value)
}

/// Everything but RFC 3986's unreserved characters: safe in a path segment
/// and in a query key or value alike.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes a value for a URL path segment or query component.
pub fn url_encode(value: &str) -> Cow<'_, str> {
    utf8_percent_encode(value, URL_COMPONENT).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn shell_commands_reference_values_and_leave_dollar_variables_to_the_shell() {
        let t = Template::parse("echo {{ user }} ${HOME} $1", Syntax::Params).unwrap();
        assert_eq!(t.render_shell(), r#"echo "${TASKQ_PARAM_user}" ${HOME} $1"#);
    }

    #[test]
    fn shell_references_are_quoted_for_where_they_stand() {
        let t = Template::parse(r#"a {{x}} "b {{x}}" 'c {{x}}' "d\" {{x}}" 'e'\''{{x}}'"#, Syntax::Params).unwrap();
        assert_eq!(
            t.render_shell(),
            r#"a "${TASKQ_PARAM_x}" "b ${TASKQ_PARAM_x}" 'c '"${TASKQ_PARAM_x}"'' "d\" ${TASKQ_PARAM_x}" 'e'\'''"${TASKQ_PARAM_x}"''"#
        );
    }

    #[test]
    fn url_values_are_percent_encoded() {
        let t = Template::parse("https://h/{{sku}}?q={{q}}", Syntax::ParamsAndEnv).unwrap();
        let out = t.render(&params(&[("sku", "a/b c"), ("q", "x&y=z")]), url_encode, &no_env).unwrap();
        assert_eq!(out, "https://h/a%2Fb%20c?q=x%26y%3Dz");
    }

    #[test]
    fn env_is_read_at_render_and_never_from_values() {
        let t = Template::parse("Bearer ${TOKEN} {{v}}", Syntax::ParamsAndEnv).unwrap();
        let env = |name: &str| (name == "TOKEN").then(|| "s3cret".to_string());
        let out = t.render(&params(&[("v", "${TOKEN}")]), verbatim, &env).unwrap();
        assert_eq!(out, "Bearer s3cret ${TOKEN}");
        let unset = t.render(&params(&[("v", "x")]), verbatim, &no_env).unwrap_err();
        assert_eq!(unset, RenderError::UnsetVar("TOKEN".into()));
    }

    #[test]
    fn syntax_errors_are_described() {
        assert!(Template::parse("echo {{user", Syntax::Params).unwrap_err().contains("unclosed \"{{\""));
        assert!(Template::parse("x {{a b}}", Syntax::Params).unwrap_err().contains("invalid parameter name"));
        assert!(Template::parse("${1X}", Syntax::Env).unwrap_err().contains("invalid environment variable name"));
        // Each syntax ignores the other's markers.
        assert_eq!(Template::parse("{{x", Syntax::Env).unwrap().params().count(), 0);
    }

    #[test]
    fn params_are_listed() {
        let t = Template::parse("{{a}}-{{b}}-{{a}}", Syntax::Params).unwrap();
        let mut set = BTreeSet::new();
        collect_params(&t, &mut set);
        assert_eq!(set.into_iter().collect::<Vec<_>>(), ["a", "b"]);
    }
}
