//! `taskq import-crontab`: a crontab (user format, or with `--system` the
//! /etc/crontab and cron.d format with its user field) turned into jobs.toml
//! entries. Environment lines apply to the entries below them, as in cron;
//! every line that cannot be converted is reported with its reason.

use std::collections::{BTreeMap, HashSet};

use crate::schedule::Schedule;
use crate::time::Zone;

/// The converted entries, and the lines that could not be.
#[derive(Debug, Default)]
pub struct Converted {
    pub toml: String,
    pub jobs: usize,
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
    let mut names = HashSet::new();
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
                "MAILTO" => {
                    let value = crate::text::one_line(&value);
                    out.toml.push_str(&format!(
                        "\n# MAILTO={value}: cron mailed each job's output there. taskq keeps output in the\n# job's result (taskq status ID); to be alerted, set on_failure = \"NAME\" on the\n# jobs below, naming a job that notifies (it sees TASKQ_TRIGGER_OUTPUT).\n"
                    ));
                }
                _ => {
                    settings.env.insert(name.to_string(), value);
                }
            }
            continue;
        }
        match entry(line, system) {
            Ok((schedule, user, command)) => {
                let name = unique_name(&command, &mut names);
                out.toml.push('\n');
                for c in comments.drain(..) {
                    out.toml.push_str(&c);
                    out.toml.push('\n');
                }
                out.toml.push_str(&format!("[jobs.{name}]\n"));
                out.toml.push_str(&format!("schedule = {}\n", quote(&schedule)));
                out.toml.push_str(&format!("command = {}\n", quote(&command)));
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
                if let Some(user) = user {
                    out.toml.push_str(&format!(
                        "# cron ran this as user {}; taskq runs it as the worker's user\n",
                        quote(&user)
                    ));
                }
                out.jobs += 1;
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
    let user = if system { Some(take().ok_or(NO_USER)?.to_string()) } else { None };
    let command = rest.trim();
    if command.is_empty() {
        return Err(if system { NO_USER } else { "the line has no command" }.into());
    }
    let command = command_of(command).map_err(|e| format!("command {command:?}: {e}"))?;
    Ok((schedule, user, command))
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
        return Err("the command contains {{, which taskq reads as a parameter".into());
    }
    Ok(out)
}

/// Words that run another command: the name comes from what they run.
const WRAPPERS: &[&str] = &[
    "env",
    "nice",
    "ionice",
    "nohup",
    "sudo",
    "exec",
    "time",
    "timeout",
    "chronic",
    "sh",
    "bash",
    "python",
    "python3",
    "perl",
    "ruby",
    "php",
    "node",
    "run-parts",
];

/// Wrappers whose first argument is not the program (flock's lock file).
const WRAPPERS_WITH_ARG: &[&str] = &["flock"];

/// A readable name from the command: the program it runs, past `cd`,
/// assignments and wrappers.
fn name_for(command: &str) -> String {
    for segment in command.split(['&', ';', '|']) {
        let mut skip_arg = false;
        for word in segment.split_whitespace() {
            let word = word.trim_matches(|c| c == '"' || c == '\'' || c == '(' || c == ')');
            if word.is_empty() || word.starts_with('-') || assignment(word).is_some() {
                continue;
            }
            if word == "cd" {
                break;
            }
            let base = word.rsplit('/').next().unwrap_or(word);
            if std::mem::take(&mut skip_arg) {
                continue;
            }
            if WRAPPERS_WITH_ARG.contains(&base) {
                skip_arg = true;
                continue;
            }
            if WRAPPERS.contains(&base) || base.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let stem = base.split('.').next().unwrap_or(base);
            let name = sanitize(stem);
            if !name.is_empty() {
                return name;
            }
        }
    }
    "job".to_string()
}

fn sanitize(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    trimmed.chars().take(40).collect()
}

fn unique_name(command: &str, taken: &mut HashSet<String>) -> String {
    let base = name_for(command);
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
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

    #[test]
    fn names_come_from_the_program_run() {
        assert_eq!(name_for("/usr/local/bin/backup.sh --full"), "backup");
        assert_eq!(name_for("cd /srv/app && ./bin/send-report --daily"), "send-report");
        assert_eq!(name_for("PATH=/x nice -n 10 python3 /opt/jobs/clean_tmp.py"), "clean_tmp");
        assert_eq!(name_for("flock -n /tmp/lock /usr/bin/rsync -a a b"), "rsync");
        assert_eq!(name_for("%%%"), "job");
        let mut taken = HashSet::new();
        assert_eq!(unique_name("backup.sh", &mut taken), "backup");
        assert_eq!(unique_name("/other/backup.sh", &mut taken), "backup-2");
    }

    // Found by fuzzing: a control character in a crontab comment or MAILTO
    // was copied into a TOML comment, where TOML forbids it.
    #[test]
    fn comments_with_control_characters_still_make_a_config_that_loads() {
        let out = convert("#\u{1b}[2J note\u{7f}\nMAILTO=a\u{1}b\n0 3 * * * true\n", false);
        assert_eq!(out.jobs, 1);
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
        assert_eq!(out.jobs, 1);
    }
}
