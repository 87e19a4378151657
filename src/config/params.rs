//! Typed parameters (SPEC §1): `params = { n = { type = "int" }, target =
//! { default = "s3", pattern = "^[a-z0-9-]+$" } }`, a plain string being a
//! default of type `string`. Values are checked when a job is enqueued and
//! again when it starts; what no value may hold whatever the type (a NUL
//! byte, more than the OS passes to a process, a whole URL path segment of
//! `.` or `..`) is refused too.

use std::collections::BTreeMap;

use super::error::Diagnostics;
use super::raw::{self, Span, Table, Value};
use toml::de::DeValue;

/// The largest value the kernel passes in one argument or environment
/// string (MAX_ARG_STRLEN, 32 pages): a shell job's parameters and
/// arguments travel as such strings.
pub const MAX_VALUE_BYTES: usize = 128 * 1024;
/// The most all of a shell job's parameters and arguments may take together:
/// half the kernel's usual 2 MiB for arguments and environment, leaving the
/// rest to the worker's own environment.
pub const MAX_TOTAL_BYTES: usize = 1024 * 1024;

/// What a parameter's values must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamType {
    #[default]
    String,
    /// An integer: digits, an optional sign.
    Int,
    /// A decimal number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `[A-Za-z0-9_.-]+`.
    Word,
    Uuid,
}

impl ParamType {
    const ALL: [(&'static str, ParamType); 6] = [
        ("string", ParamType::String),
        ("int", ParamType::Int),
        ("number", ParamType::Number),
        ("bool", ParamType::Bool),
        ("word", ParamType::Word),
        ("uuid", ParamType::Uuid),
    ];

    /// Every type's name, as `type = "..."` takes it.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::ALL.iter().map(|(name, _)| *name)
    }

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, t)| *t == self).map_or("string", |(n, _)| n)
    }

    fn admits(self, value: &str) -> bool {
        match self {
            ParamType::String => true,
            ParamType::Int => {
                let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && value.parse::<i64>().is_ok()
            }
            ParamType::Number => {
                let rest = value.strip_prefix(['-', '+']).unwrap_or(value);
                let (whole, frac) = rest.split_once('.').unwrap_or((rest, ""));
                !(whole.is_empty() && frac.is_empty())
                    && rest.len() <= 40
                    && whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
            }
            ParamType::Bool => matches!(value, "true" | "false"),
            ParamType::Word => {
                !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            }
            ParamType::Uuid => uuid::Uuid::try_parse(value).is_ok(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ParamType::String => "any text",
            ParamType::Int => "an integer",
            ParamType::Number => "a decimal number",
            ParamType::Bool => "true or false",
            ParamType::Word => "a word of letters, digits, '_', '.' and '-'",
            ParamType::Uuid => "a UUID",
        }
    }
}

/// One parameter's rule, and its default.
#[derive(Debug, Clone, Default)]
pub struct ParamRule {
    pub kind: ParamType,
    /// A regex the whole value must match, with the text it was written as.
    pub pattern: Option<(regex::Regex, String)>,
    pub default: Option<String>,
}

impl ParamRule {
    /// Why `value` does not fit this rule, in words; `None` if it does.
    pub fn check(&self, value: &str) -> Option<String> {
        // bash reads a leading 0 as octal: `08` fails, `010` is 8.
        let digits = value.trim_start_matches(['-', '+']);
        if self.kind == ParamType::Int && digits.len() > 1 && digits.starts_with('0') {
            return Some("it must be an integer without leading zeros (type int; bash reads 010 as octal 8)".into());
        }
        let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        if self.kind == ParamType::Int && all_digits && value.parse::<i64>().is_err() {
            let (min, max) = (i64::MIN, i64::MAX);
            return Some(format!("it must be an integer from {min} to {max} (type int; shells count in 64 bits)"));
        }
        if !self.kind.admits(value) {
            return Some(format!("it must be {} (type {})", self.kind.describe(), self.kind.name()));
        }
        match &self.pattern {
            Some((re, text)) if !re.is_match(value) => Some(format!("it must match the pattern {text}")),
            _ => None,
        }
    }
}

/// What no value may hold, whatever its rule: a NUL byte (no C string can
/// carry one), and for a shell job more than the OS passes to a process or
/// what bash would run as code. `carrier` is how the value reaches a shell
/// job's process: `NAME=` for a parameter's environment variable, empty for
/// an argument; the kernel's limit counts it and the closing NUL.
pub fn check_anywhere(value: &str, shell: bool, carrier: &str) -> Option<String> {
    if value.contains('\0') {
        return Some("it holds a NUL byte, which no process can be passed".into());
    }
    if shell && runs_commands(value) {
        return Some(SUBSTITUTION.into());
    }
    if shell && carrier.len() + value.len() + 1 > MAX_VALUE_BYTES {
        return Some(format!(
            "it is {} bytes long; the OS passes at most {} KiB in one value to a process{}",
            value.len(),
            MAX_VALUE_BYTES / 1024,
            if carrier.is_empty() { String::new() } else { format!(", counting its name {carrier}") }
        ));
    }
    None
}

/// Why a shell job refuses a value holding shell substitution syntax.
const SUBSTITUTION: &str = "it holds \"$(\", \"${\" or a backquote, or ends in \"$\" (which the next value \
     could complete), which a shell runs as a command wherever it \
     evaluates a value (arithmetic, array subscripts, eval, a script that does), whatever the quoting; pass such \
     text in a file or through an HTTP job";

/// Whether `value` holds command or parameter substitution syntax. Quoting
/// keeps a value from being parsed where taskq places it, but bash and zsh
/// evaluate a value again wherever it is read as a number or a name
/// (`$(( x ))`, `a[$x]`, `[[ -v $x ]]`, `${!x}`), however it got into `x`:
/// joined from two values, passed to a script, written `a[$1]` by the
/// command itself. Those evaluations run code only through `$(...)`,
/// `${...}` (`${x@P}`) or backquotes, so a value without them, and without
/// a trailing `$` that a following value's `(` would complete, is data in
/// every context (shown by trying each under bash and zsh).
fn runs_commands(value: &str) -> bool {
    value.contains("$(") || value.contains("${") || value.contains('`') || value.ends_with('$')
}

/// The `params` table: each entry a default (a string) or an inline table
/// of `type`, `default` and `pattern`; with each entry's span.
pub(super) fn read(diag: &mut Diagnostics<'_>, value: &Value<'_>) -> Option<BTreeMap<String, (ParamRule, Span)>> {
    let DeValue::Table(table) = value.get_ref() else {
        raw::wrong_type(diag, "params", value, "a table");
        return None;
    };
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (key, v) in table {
        let name = key.get_ref().to_string();
        let entry = format!("params.{name}");
        let rule = match v.get_ref() {
            DeValue::String(s) => Some(ParamRule { default: Some(s.to_string()), ..ParamRule::default() }),
            DeValue::Table(t) => read_rule(diag, &entry, &Table { table: t }),
            _ => {
                raw::wrong_type(diag, &entry, v, "a default (a string) or a table such as { type = \"int\" }");
                None
            }
        };
        match rule {
            Some(rule) => {
                if let Some(default) = &rule.default
                    && let Some(why) = rule.check(default)
                {
                    diag.error(&v.span(), format!("the default of parameter \"{name}\" does not fit its rule: {why}"));
                    ok = false;
                }
                out.insert(name, (rule, key.span()));
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A default as the text a `-p` would give: `default = 14` and `default =
/// true` read as naturally as their quoted forms.
fn scalar(diag: &mut Diagnostics<'_>, field: &str, v: &Value<'_>) -> Option<String> {
    match v.get_ref() {
        DeValue::Integer(_) => raw::integer(diag, field, v, i64::MIN..=i64::MAX).map(|n| n.to_string()),
        DeValue::Float(f) => Some(f.as_str().replace('_', "")),
        DeValue::Boolean(b) => Some(b.to_string()),
        _ => raw::string(diag, field, v),
    }
}

/// The keys of a parameter's rule table.
pub(super) const RULE_KEYS: &[&str] = &["type", "default", "pattern"];

fn read_rule(diag: &mut Diagnostics<'_>, entry: &str, table: &Table<'_, '_>) -> Option<ParamRule> {
    table.check_keys(diag, RULE_KEYS, &[]);
    let mut rule = ParamRule::default();
    let mut ok = true;
    for (key, v) in table.table {
        let field = format!("{entry}.{}", key.get_ref());
        match key.get_ref().as_ref() {
            "type" => match raw::string(diag, &field, v) {
                Some(name) => {
                    if let Some((_, t)) = ParamType::ALL.iter().find(|(n, _)| *n == name) {
                        rule.kind = *t;
                    } else {
                        let names: Vec<&str> = ParamType::names().collect();
                        diag.error(&v.span(), format!("unknown type \"{name}\": use one of {}", names.join(", ")));
                        ok = false;
                    }
                }
                None => ok = false,
            },
            "default" => {
                rule.default = scalar(diag, &field, v);
                ok &= rule.default.is_some();
            }
            "pattern" => match raw::string(diag, &field, v) {
                // Anchored: the whole value must match, not a part of it.
                Some(text) => match regex::Regex::new(&format!("^(?:{text})$")) {
                    Ok(re) => rule.pattern = Some((re, text)),
                    Err(e) => {
                        let why = e.to_string().lines().last().unwrap_or_default().trim().to_string();
                        diag.error(&v.span(), format!("\"{field}\": invalid regular expression: {why}"));
                        ok = false;
                    }
                },
                None => ok = false,
            },
            _ => {}
        }
    }
    ok.then_some(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_admit_what_they_say() {
        let admits = |t: ParamType, v: &str| t.admits(v);
        assert!(admits(ParamType::Int, "-42") && admits(ParamType::Int, "7") && !admits(ParamType::Int, "a[$(x)]"));
        let int = ParamRule { kind: ParamType::Int, ..ParamRule::default() };
        assert!(int.check("08").unwrap().contains("without leading zeros") && int.check("-010").is_some());
        assert_eq!((int.check("0"), int.check("-0"), int.check("100")), (None, None, None));
        assert_eq!(int.check("9223372036854775807"), None);
        assert!(int.check("9223372036854775808").unwrap().contains("from -9223372036854775808 to"));
        assert!(!admits(ParamType::Int, "") && !admits(ParamType::Int, "1.5") && !admits(ParamType::Int, "0x10"));
        assert!(
            admits(ParamType::Number, "1.5") && admits(ParamType::Number, "-.5") && !admits(ParamType::Number, ".")
        );
        assert!(admits(ParamType::Bool, "true") && !admits(ParamType::Bool, "yes"));
        assert!(admits(ParamType::Word, "a-b_c.d") && !admits(ParamType::Word, "a b") && !admits(ParamType::Word, ""));
        assert!(admits(ParamType::Uuid, "019364e1-7c5a-7d3e-9f7e-2b1d0c4a5e6f") && !admits(ParamType::Uuid, "x"));
    }

    #[test]
    fn values_no_process_can_take_are_refused_everywhere() {
        assert!(check_anywhere("a\0b", false, "").unwrap().contains("NUL byte"));
        assert!(check_anywhere(&"x".repeat(MAX_VALUE_BYTES + 1), true, "").unwrap().contains("128 KiB"));
        assert_eq!(check_anywhere(&"x".repeat(MAX_VALUE_BYTES + 1), false, ""), None, "HTTP values go in no argv");
        // The kernel counts the closing NUL, and a parameter's variable name.
        assert!(check_anywhere(&"x".repeat(MAX_VALUE_BYTES), true, "").is_some());
        assert_eq!(check_anywhere(&"x".repeat(MAX_VALUE_BYTES - 1), true, ""), None);
        let name = "TASKQ_PARAM_a=";
        assert!(check_anywhere(&"x".repeat(MAX_VALUE_BYTES - 14), true, name).unwrap().contains("TASKQ_PARAM_a="));
        assert_eq!(check_anywhere(&"x".repeat(MAX_VALUE_BYTES - 15), true, name), None);
    }

    // See: the hostile-input issue, item 1, and its two reviews: bash and
    // zsh evaluate a value wherever it is read as a name or a number, through
    // variables, joined values and scripts alike.
    #[test]
    fn substitution_syntax_is_refused_for_shell_jobs() {
        for bad in ["a[$(touch P)]", "a[`touch P`]", "a[${x@P}]", "$(touch P)]", "x${IFS}y", "Deploy [v2] `now`", "a[$"]
        {
            assert!(check_anywhere(bad, true, "").unwrap().contains("whatever the quoting"), "{bad}");
            assert_eq!(check_anywhere(bad, false, ""), None, "HTTP jobs run no shell: {bad}");
        }
        for fine in ["a[", "[prod] costs $5", "a[1]", "a[$x]", "$HOME/x[1]", "50% off; rm -rf / | tee $x"] {
            assert_eq!(check_anywhere(fine, true, ""), None, "{fine}");
        }
    }
}
