//! Job names for converted crontab lines, from what a command does rather
//! than its first word: `pg_dump app | gzip > ...` is `pg-dump-app`, `find
//! /var/log/app -mtime +7 -delete` is `clean-var-log-app`.
//!
//! The rules, in order:
//! - the first simple command that does the work names the line: set-up
//!   steps before it (`cd DIR &&`, `sleep N;`, `[ -x F ] &&`, `VAR=value`)
//!   and the commands its output is piped to are passed over;
//! - wrappers (`nice`, `ionice -c3`, `flock -n LOCK`, `timeout 10m`,
//!   `chronic`, `sudo -u X`, `env`, `nohup`, `setlock`, ...) are looked
//!   through, `sh -c '...'` and `flock LOCK -c '...'` read their command
//!   line, and an interpreter (`python3`, `php`, `node`, `bash`, ...) is
//!   named by its script;
//! - the program or script is its base name without a script extension,
//!   with its directory when the name alone says little (`nextcloud/cron.php`);
//! - then its first meaningful operand: a path's last components
//!   (`run-parts /etc/cron.daily`), a URL's host, or a word or two
//!   (`certbot renew`, `artisan schedule:run`, a database name);
//! - `find PATH ... -delete` is `clean-PATH`; `curl`/`wget URL` is named by
//!   the URL alone (`ping-hc-example-com`).
//!
//! The result is lower-case words joined by `-`, at most `MAX_LEN`
//! characters cut at a `-`, and a valid job name whatever the command holds.

use std::collections::HashSet;

use super::MAX_NAME_LEN as MAX_LEN;
use super::operands::{is_option, path_parts, split_option, subject, url_operand};
use super::runners::{self, Kind, Runner};
use super::words::{self, Simple, Word};

/// How many `sh -c '...'` levels are read; deeper nesting is not worth a name.
const MAX_DEPTH: usize = 3;

/// Commands that prepare for the work rather than do it.
const SETUP: &[&str] = &[
    "cd", "pushd", "popd", "test", "[", "[[", "true", ":", "export", "set", "umask", "ulimit", "sleep", "source", ".",
    "mkdir", "trap", "unset",
];

/// Shell keywords that may lead a simple command (`if [ ... ]; then CMD; fi`).
const KEYWORDS: &[&str] = &["if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "fi", "done", "esac"];

/// Compound commands whose words are not a command.
const COMPOUND: &[&str] = &["for", "case", "select", "function"];

/// The job name for `command`, unique among `taken`, which it joins: a
/// repeated name gets `-2`, `-3`, ... within the length limit.
pub(super) fn unique_name(command: &str, taken: &mut HashSet<String>) -> String {
    let base = name_for(command);
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        let suffix = format!("-{n}");
        name = format!("{}{suffix}", clip(&base, MAX_LEN - suffix.len()));
        n += 1;
    }
    name
}

/// The job name for `command`.
pub(super) fn name_for(command: &str) -> String {
    let mut kept: Vec<String> = Vec::new();
    for part in describe(command, 0).parts.iter().map(|p| slug(p)) {
        // `logrotate /etc/logrotate.conf` says logrotate once.
        let repeats = kept.iter().any(|k| part == *k || part.starts_with(&format!("{k}-")));
        if !part.is_empty() && !repeats {
            kept.push(part);
        }
    }
    let name = clip(&kept.join("-"), MAX_LEN);
    if name.is_empty() { "job".to_string() } else { name }
}

/// What a command line runs, and what its pipeline does after it.
struct Context<'c> {
    /// The directory a `cd` before it moved to: `find .` means that.
    dir: Option<&'c Word>,
    pipeline: &'c [Simple],
    depth: usize,
}

/// The words of a name, and whether they are only a runner's or a set-up
/// step's (`perl -e 'sleep ...'`, a bare `nice`): a later command may say more.
#[derive(Debug, Default)]
struct Named {
    parts: Vec<String>,
    weak: bool,
}

impl Named {
    fn strong(parts: Vec<String>) -> Self {
        Named { parts, weak: false }
    }

    fn weak(key: String) -> Self {
        Named { parts: vec![key], weak: true }
    }
}

/// The words a name is made of, from the first command that does the work.
fn describe(command: &str, depth: usize) -> Named {
    if depth > MAX_DEPTH {
        return Named::default();
    }
    let commands = words::commands(command);
    let mut dir = None;
    let mut first_setup = None;
    let mut first_weak = None;
    for (i, simple) in commands.iter().enumerate() {
        if simple.piped {
            continue;
        }
        let words = skip_assignments(strip_keywords(&simple.words));
        let Some(first) = words.first() else { continue };
        let key = key(first);
        if COMPOUND.contains(&key.as_str()) {
            continue;
        }
        if SETUP.contains(&key.as_str()) {
            if key == "cd" || key == "pushd" {
                dir = words.get(1);
            }
            first_setup.get_or_insert(words);
            continue;
        }
        let end = commands[i + 1..].iter().position(|c| !c.piped).map_or(commands.len(), |p| i + 1 + p);
        let context = Context { dir, pipeline: &commands[i + 1..end], depth };
        let named = context.simple(words);
        if !named.weak {
            return named;
        }
        first_weak.get_or_insert(named);
    }
    if let Some(named) = first_weak.filter(|n| !n.parts.is_empty()) {
        return named;
    }
    // Nothing but set-up (`sleep 60`): the first step names it.
    let context = Context { dir, pipeline: &[], depth };
    let parts = first_setup.and_then(|w| w.split_first()).map(|(first, rest)| context.program(first, rest));
    Named { parts: parts.unwrap_or_default(), weak: true }
}

/// What a runner's own options and operands lead to.
enum Lead<'w> {
    /// The words after them: the command a wrapper runs, an interpreter's script.
    Rest(&'w [Word]),
    /// A command line given as one word (`sh -c CMD`).
    Command(&'w str),
    /// A script given by an option (`python -m MODULE`), and its arguments.
    Script(&'w Word, &'w [Word]),
    /// Inline code, or nothing: the runner is all there is to name.
    Nothing,
}

impl Context<'_> {
    /// A simple command, looking through wrappers.
    fn simple(&self, mut words: &[Word]) -> Named {
        let mut outer = None;
        loop {
            words = skip_assignments(words);
            let Some((first, rest)) = words.split_first() else { break };
            let key = key(first);
            let Some(runner) = runners::runner(&key) else {
                let parts = self.program(first, rest);
                if !parts.is_empty() {
                    return Named::strong(parts);
                }
                // The program is an expansion (`$PHP artisan ...`): what follows may still say.
                words = rest;
                continue;
            };
            let named = match lead(runner, rest) {
                Lead::Rest(rest) if runner.kind == Kind::Wrapper => {
                    outer = Some(key);
                    words = rest;
                    continue;
                }
                Lead::Rest(rest) => rest.split_first().map(|(script, args)| Named::strong(subject(script, args, None))),
                Lead::Script(script, args) => Some(Named::strong(subject(script, args, None))),
                Lead::Command(line) => Some(describe(line, self.depth + 1)),
                Lead::Nothing => None,
            };
            return named.filter(|n| !n.parts.is_empty()).unwrap_or_else(|| Named::weak(key));
        }
        outer.map_or_else(Named::default, Named::weak)
    }

    /// A program that is not a runner: by its name and operands.
    fn program(&self, first: &Word, rest: &[Word]) -> Vec<String> {
        let key = key(first);
        let options = runners::program(&key);
        match key.as_str() {
            "find" => return self.find(rest),
            "curl" | "wget" => {
                if let Some(url) = url_operand(rest, options) {
                    return url;
                }
            }
            _ => {}
        }
        subject(first, rest, options)
    }

    /// `find PATH ... -delete` (or `-exec rm`, or `| xargs rm`) cleans PATH.
    fn find(&self, args: &[Word]) -> Vec<String> {
        let mut rest = args;
        while let Some((first, tail)) = rest.split_first() {
            match first.text.as_str() {
                "-H" | "-L" | "-P" => rest = tail,
                "-D" => rest = tail.get(1..).unwrap_or_default(),
                t if t.starts_with("-O") => rest = tail,
                _ => break,
            }
        }
        let paths = rest.iter().take_while(|w| !w.text.starts_with(['-', '(', '!']));
        let place = paths.filter(|w| !w.dynamic).map(|w| self.absolute(&w.text)).next();
        let removes = |words: &[Word]| words.iter().any(|w| w.text == "-delete" || key(w) == "rm");
        let cleans = removes(rest) || self.pipeline.iter().any(|c| removes(&c.words));
        let mut parts = vec![if cleans { "clean" } else { "find" }.to_string()];
        parts.extend(place.map(|p| path_parts(&p, 3, false)).unwrap_or_default());
        parts
    }

    /// `path` as seen from the directory a `cd` moved to.
    fn absolute(&self, path: &str) -> String {
        match self.dir {
            Some(dir) if !path.starts_with('/') => format!("{}/{path}", dir.text),
            _ => path.to_string(),
        }
    }
}

/// Walks a runner's own options and operands.
fn lead<'w>(runner: &Runner, words: &'w [Word]) -> Lead<'w> {
    let mut operands = runner.operands;
    let mut i = 0;
    while let Some(word) = words.get(i) {
        let text = word.text.as_str();
        let after = |n: usize| words.get(i + n..).unwrap_or_default();
        if text == "--" {
            return Lead::Rest(after(1));
        }
        if !is_option(text) {
            // `su - USER`: a lone `-` is su's login flag, not an operand.
            if text != "-" {
                if operands == 0 {
                    break;
                }
                operands -= 1;
            }
            i += 1;
            continue;
        }
        let (option, attached) = split_option(text);
        let next = words.get(i + 1);
        if runner.command.contains(&option) || (runner.kind == Kind::Shell && is_c_cluster(text)) {
            return attached.or(next.map(|w| w.text.as_str())).map_or(Lead::Nothing, Lead::Command);
        }
        if runner.script.contains(&option) {
            return next.map_or(Lead::Nothing, |script| Lead::Script(script, after(2)));
        }
        if runner.code.contains(&option) {
            return Lead::Nothing;
        }
        i += if runner.value.contains(&option) && attached.is_none() { 2 } else { 1 };
    }
    Lead::Rest(words.get(i..).unwrap_or_default())
}

/// The word a program is known by: its base name, lower-cased, without a
/// trailing version (`/usr/bin/python3.11` is `python`).
fn key(word: &Word) -> String {
    let base = word.text.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
    let unversioned = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if unversioned.is_empty() { base } else { unversioned.to_string() }
}

fn strip_keywords(words: &[Word]) -> &[Word] {
    let start = words.iter().position(|w| !KEYWORDS.contains(&w.text.as_str())).unwrap_or(words.len());
    &words[start..]
}

/// Past leading `NAME=value` words.
fn skip_assignments(words: &[Word]) -> &[Word] {
    let is_assignment = |w: &Word| {
        w.text.split_once('=').is_some_and(|(name, _)| {
            name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    let start = words.iter().position(|w| !is_assignment(w)).unwrap_or(words.len());
    &words[start..]
}

/// `-c` in a cluster of a shell's flags (`bash -lc CMD`, `sh -ec CMD`).
fn is_c_cluster(text: &str) -> bool {
    text.strip_prefix('-').is_some_and(|flags| flags.contains('c') && flags.chars().all(|c| c.is_ascii_lowercase()))
}

/// Lower-case ASCII letters and digits, every other run of characters one `-`.
fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// `name` cut to `max` bytes at a `-` when there is one (names are ASCII).
fn clip(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let head = name.get(..=max).unwrap_or(name);
    let cut = match head.rfind('-') {
        Some(at) if at > 0 => &head[..at],
        _ => name.get(..max).unwrap_or(name),
    };
    cut.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests;
