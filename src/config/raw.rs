//! Reading typed values out of the parsed TOML tree while keeping every span,
//! so that each wrong value is reported at its own line and column. Nothing
//! here knows what a job is; `validate` decides which keys mean what.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::Diagnostics;
use super::suggest::did_you_mean;

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;
pub(crate) type Span = Range<usize>;

/// A table's entries, checked against the keys allowed in it.
pub(crate) struct Table<'t, 'i> {
    pub(crate) table: &'t DeTable<'i>,
}

impl<'t, 'i> Table<'t, 'i> {
    /// Reports every key not in `allowed`, suggesting the nearest allowed one.
    pub(crate) fn check_keys(&self, diag: &mut Diagnostics<'_>, allowed: &[&str], not_here: &[(&str, &str)]) {
        for key in self.table.keys() {
            let name = key.get_ref().as_ref();
            if allowed.contains(&name) {
                continue;
            }
            if let Some((_, why)) = not_here.iter().find(|(k, _)| *k == name) {
                diag.error(&key.span(), format!("key \"{name}\" is not allowed here: {why}"));
                continue;
            }
            let hint = did_you_mean(name, allowed.iter().copied())
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            diag.error(&key.span(), format!("unknown key \"{name}\"{hint}"));
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'t Value<'i>> {
        self.table.get(key)
    }
}

/// "expected a string" style error with the TOML type actually found.
pub(crate) fn wrong_type(diag: &mut Diagnostics<'_>, key: &str, value: &Value<'_>, expected: &str) {
    let found = value.get_ref().type_str();
    diag.error(&value.span(), format!("\"{key}\" must be {expected}, found {found}"));
}

pub(crate) fn string(diag: &mut Diagnostics<'_>, key: &str, value: &Value<'_>) -> Option<String> {
    if let DeValue::String(s) = value.get_ref() {
        Some(s.to_string())
    } else {
        wrong_type(diag, key, value, "a string");
        None
    }
}

pub(crate) fn boolean(diag: &mut Diagnostics<'_>, key: &str, value: &Value<'_>) -> Option<bool> {
    if let DeValue::Boolean(b) = value.get_ref() {
        Some(*b)
    } else {
        wrong_type(diag, key, value, "true or false");
        None
    }
}

/// An integer within `range`.
pub(crate) fn integer(
    diag: &mut Diagnostics<'_>,
    key: &str,
    value: &Value<'_>,
    range: std::ops::RangeInclusive<i64>,
) -> Option<i64> {
    let DeValue::Integer(int) = value.get_ref() else {
        wrong_type(diag, key, value, "an integer");
        return None;
    };
    let digits = int.as_str().replace('_', "");
    match i64::from_str_radix(&digits, int.radix()) {
        Ok(n) if range.contains(&n) => Some(n),
        _ => {
            let (lo, hi) = (range.start(), range.end());
            diag.error(&value.span(), format!("\"{key}\" must be between {lo} and {hi}"));
            None
        }
    }
}

/// A humantime duration such as `"90s"` or `"1h30m"`; a day is 24 hours.
pub(crate) fn duration(diag: &mut Diagnostics<'_>, key: &str, value: &Value<'_>) -> Option<Duration> {
    let DeValue::String(text) = value.get_ref() else {
        wrong_type(diag, key, value, "a duration string such as \"30s\" or \"1h30m\"");
        return None;
    };
    match humantime::parse_duration(text) {
        Ok(d) => Some(d),
        Err(e) => {
            diag.error(
                &value.span(),
                format!("\"{key}\": invalid duration \"{text}\": {e} (use e.g. \"90s\", \"5m\", \"1h30m\", \"1d\")"),
            );
            None
        }
    }
}

/// An array of integers each within `range`.
pub(crate) fn integer_list(
    diag: &mut Diagnostics<'_>,
    key: &str,
    value: &Value<'_>,
    range: std::ops::RangeInclusive<i64>,
) -> Option<Vec<i64>> {
    let DeValue::Array(items) = value.get_ref() else {
        wrong_type(diag, key, value, "an array of integers");
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        match integer(diag, key, item, range.clone()) {
            Some(n) => out.push(n),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A table of strings (`env`, `headers`, `params`), with each entry's span.
pub(crate) fn string_table(
    diag: &mut Diagnostics<'_>,
    key: &str,
    value: &Value<'_>,
) -> Option<BTreeMap<String, (String, Span)>> {
    let DeValue::Table(table) = value.get_ref() else {
        wrong_type(diag, key, value, "a table of strings");
        return None;
    };
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (k, v) in table {
        let entry = format!("{key}.{}", k.get_ref());
        match string(diag, &entry, v) {
            Some(s) => {
                out.insert(k.get_ref().to_string(), (s, k.span()));
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Any TOML value as JSON (the `json` body of an HTTP job). Datetimes become
/// their TOML text; integers that do not fit 64 bits are an error.
pub(crate) fn json(diag: &mut Diagnostics<'_>, value: &Value<'_>) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match value.get_ref() {
        DeValue::String(s) => J::String(s.to_string()),
        DeValue::Boolean(b) => J::Bool(*b),
        DeValue::Datetime(d) => J::String(d.to_string()),
        DeValue::Integer(_) => J::from(integer(diag, "json", value, i64::MIN..=i64::MAX)?),
        DeValue::Float(f) => {
            let parsed = f.as_str().replace('_', "").parse::<f64>().ok();
            if let Some(n) = parsed.and_then(serde_json::Number::from_f64) {
                J::Number(n)
            } else {
                diag.error(&value.span(), "\"json\": this number cannot be represented in JSON (nan or inf)");
                return None;
            }
        }
        DeValue::Array(items) => J::Array(items.iter().map(|v| json(diag, v)).collect::<Option<_>>()?),
        DeValue::Table(t) => {
            J::Object(t.iter().map(|(k, v)| Some((k.get_ref().to_string(), json(diag, v)?))).collect::<Option<_>>()?)
        }
    })
}
