//! `taskq import-crontab`: a crontab (user format, or with `--system` the
//! /etc/crontab and cron.d format with its user field) turned into jobs.toml
//! entries. Environment lines apply to the entries below them, as in cron;
//! every line that cannot be converted is reported with its reason.

mod name;
mod operands;
mod runners;
mod words;

use std::collections::{BTreeMap, HashSet};

use crate::schedule::Schedule;
use crate::time::Zone;

/// The longest job name the converter gives: long enough for
/// `clean-storage-framework-sessions`, short enough to read in a table.
pub const MAX_NAME_LEN: usize = 40;

/// The converted entries, and the lines that could not be.
#[derive(Debug, Default)]
pub struct Converted {
    pub toml: String,
    /// The names given to the converted entries, in order.
    pub names: Vec<String>,
    pub problems: Vec<Problem>,
}

/// A line that could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub reason: String,
}

/// What the lines above a schedule line set.
#[derive(Default)]
struct Settings {
    shell: Option<String>,
    timezone: Option<String>,
    env: BTreeMap<String, String>,
}

/// Converts crontab `source`; `system` reads the user field.
pub fn convert(source: &str, system: bool) -> Converted {
    let mut out = Converted::default();
    let mut settings = Settings::default();
    let mut comments: Vec<String> = Vec::new();
    let mut taken = HashSet::new();
    out.toml.push_str("# Converted from a crontab by taskq import-crontab.\n");
    for (index, raw) in source.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.is_empty() {
            comments.clear();
            continue;
        }
        if line.starts_with('#') {
            // TOML comments may not hold control characters; a crontab's may.
            comments.push(crate::text::one_line(line).into_owned());
            continue;
        }
        let problem = |reason: String| Problem { line: number, reason };
        if let Some((name, value)) = assignment(line) {
            match name {
                "SHELL" => settings.shell = Some(value),
                "CRON_TZ" => match Zone::named(&value) {
                    Ok(_) => settings.timezone = Some(value),
                    Err(e) => out.problems.push(problem(format!("CRON_TZ: {e}"))),
                },
                // An empty MAILTO is cron's "mail nothing", which is what taskq does anyway.
                "MAILTO" if value.trim().is_empty() => {}
                "MAILTO" => {
                    let value = crate::text::one_line(&value);
                    out.toml.push_str(&format!(
                        "\n# MAILTO={value}: cron mailed each job's output there. taskq keeps output in the\n# job's result (taskq status ID); to be alerted, set on_failure = \"NAME\" on the\n# jobs below, naming a job that notifies (it sees TASKQ_TRIGGER_OUTPUT).\n"
                    ));
                }
                // cron keeps `${X}` as written; taskq would read X from the
                // worker's environment at run time, and fail if unset.
                _ if value.contains("${") => out.problems.push(problem(format!(
                    "{name}: the value holds \"${{\", which taskq reads as a variable of the worker's environment where cron kept it as written: set {name} in the commands that need it"
                ))),
                _ => {
                    settings.env.insert(name.to_string(), value);
                }
            }
            continue;
        }
        match entry(line, system) {
            Ok((schedule, user, command)) => {
                let name = name::unique_name(&command, &mut taken);
                out.toml.push('\n');
                for c in comments.drain(..) {
                    out.toml.push_str(&c);
                    out.toml.push('\n');
                }
                out.toml.push_str(&format!("[jobs.{name}]\n"));
                out.toml.push_str(&format!("schedule = {}\n", quote(&schedule)));
                out.toml.push_str(&format!("command = {}\n", quote(&command)));
                if let Some(user) = user {
                    out.toml.push_str(&format!("user = {}\n", quote(&user)));
                }
                if let Some(shell) = &settings.shell {
                    out.toml.push_str(&format!("shell = {}\n", quote(shell)));
                }
                if let Some(tz) = &settings.timezone {
                    out.toml.push_str(&format!("timezone = {}\n", quote(tz)));
                }
                if !settings.env.is_empty() {
                    let pairs: Vec<String> =
                        settings.env.iter().map(|(k, v)| format!("{} = {}", key(k), quote(v))).collect();
                    out.toml.push_str(&format!("env = {{ {} }}\n", pairs.join(", ")));
                }
                out.names.push(name);
            }
            Err(reason) => {
                comments.clear();
                out.problems.push(problem(reason));
            }
        }
    }
    out
}

/// `NAME=value`, the value unquoted as cron does.
fn assignment(line: &str) -> Option<(&str, String)> {
    let (name, value) = line.split_once('=')?;
    let name = name.trim();
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return None;
    }
    let value = value.trim();
    let unquoted = ['"', '\''].iter().find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)));
    Some((name, unquoted.unwrap_or(value).to_string()))
}

/// A schedule line as (schedule, user, command).
fn entry(line: &str, system: bool) -> Result<(String, Option<String>, String), String> {
    let mut rest = line;
    let mut take = || -> Option<&str> {
        let trimmed = rest.trim_start();
        let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        let (word, tail) = trimmed.split_at(end);
        rest = tail;
        (!word.is_empty()).then_some(word)
    };
    let first = take().ok_or("an empty line")?;
    let schedule = if first.starts_with('@') {
        if first.eq_ignore_ascii_case("@reboot") {
            return Err("@reboot is not a schedule taskq can fire: run the command from a systemd unit at boot".into());
        }
        first.to_string()
    } else {
        let mut fields = vec![first];
        for _ in 0..4 {
            fields.push(take().ok_or_else(|| format!("{line:?}: a schedule line needs 5 time fields and a command"))?);
        }
        fields.join(" ")
    };
    Schedule::cron(&schedule)?;
    const NO_USER: &str = "a system crontab line needs a user field before the command";
    let user = if system { Some(take().ok_or(NO_USER)?) } else { None };
    let command = rest.trim();
    if command.is_empty() {
        return Err(if system { NO_USER } else { "the line has no command" }.into());
    }
    let user = user.map(user_field).transpose()?;
    let command = command_of(command).map_err(|e| format!("command {command:?}: {e}"))?;
    Ok((schedule, user, command))
}

/// The user field of a system crontab line. A path or other text there is
/// most often a user crontab read with `--system`: say so rather than
/// write a `user` no system has.
fn user_field(word: &str) -> Result<String, String> {
    // `@`: directory users (SSSD, Active Directory) are named user@domain.
    let valid = word.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && word.trim_end_matches('$').chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'));
    if valid {
        Ok(word.to_string())
    } else {
        Err(format!(
            "{word:?} in the user field is not a user name (is this a user's crontab? a system crontab's lines name a user after the schedule)"
        ))
    }
}

/// Cron's `%` rules: `\%` is a literal `%`; an unescaped `%` starts the
/// command's stdin, which taskq does not offer.
fn command_of(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'%') => {
                out.push('%');
                chars.next();
            }
            '%' => {
                return Err("an unescaped % (cron feeds what follows to the command's stdin) cannot be converted: \
                            put the input in a file, or write \\% for a literal %"
                    .into());
            }
            c => out.push(c),
        }
    }
    if out.contains("{{") {
        return Err("the command contains {{, which taskq reads as a parameter: split the braces with empty quotes \
                    ({\"\"{ outside or inside double quotes, {''{ inside single quotes), or move the command into a script"
            .into());
    }
    Ok(out)
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A TOML key: bare when it can be.
fn key(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        text.to_string()
    } else {
        quote(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Found by fuzzing: a control character in a crontab comment or MAILTO
    // was copied into a TOML comment, where TOML forbids it.
    #[test]
    fn comments_with_control_characters_still_make_a_config_that_loads() {
        let out = convert("#\u{1b}[2J note\u{7f}\nMAILTO=a\u{1}b\n0 3 * * * true\n", false);
        assert_eq!(out.names.len(), 1);
        assert!(out.toml.contains("#\\e[2J note\\x7f"), "{}", out.toml);
        crate::config::Config::parse(std::path::Path::new("x.toml"), &out.toml).unwrap();
    }

    #[test]
    fn percent_signs_follow_cron() {
        assert_eq!(command_of(r"date +\%F > /tmp/x").unwrap(), "date +%F > /tmp/x");
        assert!(command_of("mail -s hi root%body").unwrap_err().contains("unescaped %"));
    }

    #[test]
    fn bad_lines_are_reported_not_dropped() {
        let out = convert("@reboot /bin/start\n61 * * * * x\n* * *\n0 0 * * * echo ok\n", false);
        let lines: Vec<usize> = out.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 2, 3]);
        assert_eq!(out.names.len(), 1);
    }
}
