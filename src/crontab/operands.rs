//! What a program works on, for its job's name: the program's or script's
//! own name, then its first telling operand (a path's last components, a
//! URL's host and first path segment, or a word or two). `name.rs` decides
//! which command and which program; this module reads their words.

use super::runners::Program;
use super::words::{EXPANSION, Word};

/// Script names that say little alone: `nextcloud/cron.php` is `nextcloud-cron`.
const GENERIC: &[&str] = &["cron", "run", "main", "index", "start", "script", "job", "jobs", "task", "tasks", "worker"];

/// Directories that say nothing about a job.
const SYSTEM_DIRS: &[&str] = &[
    "bin", "sbin", "usr", "local", "etc", "var", "opt", "srv", "home", "root", "www", "html", "htdocs", "public",
    "lib", "libexec", "scripts", "current", "dist", "build", "src",
];

/// Extensions dropped from a script's name (`backup.sh` is `backup`); other
/// dots stay (`http.server`, `cron.daily`).
const SCRIPT_EXTENSIONS: &[&str] =
    &["sh", "bash", "py", "php", "phar", "pl", "rb", "js", "mjs", "cjs", "ts", "jar", "lua", "tcl", "awk", "r"];

/// A program or script by its name, then its operands.
pub(super) fn subject(path: &Word, args: &[Word], options: Option<&Program>) -> Vec<String> {
    let mut parts = stem_parts(&path.text);
    if !parts.is_empty() {
        parts.extend(operands(args, options));
    }
    parts
}

/// The operands that say what a program works on: a path's last
/// components, a URL, or one or two words (`certbot renew`, `systemctl
/// restart nginx`, `docker exec -u www-data nextcloud`). Options, their
/// values, numbers, expansions and tokens are passed over; text that is not
/// a name (`date +%F`, a quoted command line) ends it.
fn operands(args: &[Word], options: Option<&Program>) -> Vec<String> {
    let value = options.map_or(&[][..], |p| p.value);
    let subject = options.map_or(&[][..], |p| p.subject);
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        let text = arg.text.as_str();
        if is_option(text) {
            let (option, attached) = split_option(text);
            if subject.contains(&option) {
                let given = attached.or(args.get(i).filter(|w| !w.dynamic).map(|w| w.text.as_str()));
                if let Some(given) = given.filter(|g| is_word(g)) {
                    return vec![given.to_string()];
                }
            }
            if (value.contains(&option) || subject.contains(&option)) && attached.is_none() {
                i += 1;
            }
            continue;
        }
        if arg.dynamic || !text.chars().any(|c| c.is_ascii_alphabetic()) || is_token(text) {
            continue;
        }
        if !out.is_empty() {
            if is_word(text) {
                out.push(text.to_string());
            }
            break;
        }
        if text.contains("://") {
            return url_parts(text);
        }
        if text.contains('/') {
            let parts = path_parts(text, 2, true);
            if parts.is_empty() {
                continue;
            }
            return parts;
        }
        if !is_word(text) {
            break;
        }
        out.push(text.to_string());
    }
    out
}

/// `curl`/`wget`: the URL operand, past the options' values.
pub(super) fn url_operand(args: &[Word], options: Option<&Program>) -> Option<Vec<String>> {
    let value = options.map_or(&[][..], |p| p.value);
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        let (option, attached) = split_option(&arg.text);
        if is_option(&arg.text) {
            if value.contains(&option) && attached.is_none() {
                i += 1;
            }
            continue;
        }
        return Some(url_parts(&arg.text)).filter(|parts| !parts.is_empty());
    }
    None
}

/// A URL as its first telling path segment and its host
/// (`https://hc.example.com/ping/abc` is `ping`, `hc.example.com`). The
/// user, password, port, query and tokens in the path are left out.
fn url_parts(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.split(':').next().unwrap_or(host),
    };
    let host = host.strip_prefix("www.").unwrap_or(host);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let is_version =
        |s: &str| s.strip_prefix('v').is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    // `index.php` and `api/v1` are how a site is laid out, not what a job does.
    let telling = |s: &&str| is_component(s) && !is_version(s) && !matches!(strip_extension(s), "api" | "index");
    let segment = path.split('/').find(telling).map(strip_extension);
    let host = Some(host).filter(|h| !h.is_empty() && !h.contains(EXPANSION));
    segment.into_iter().chain(host).map(str::to_string).collect()
}

/// A program or script path as its name, with the nearest telling directory
/// when the name is generic (`/var/www/nextcloud/cron.php` is `nextcloud`, `cron`).
fn stem_parts(path: &str) -> Vec<String> {
    let components: Vec<&str> = path.split('/').filter(|c| is_component(c)).collect();
    let Some((last, parents)) = components.split_last() else { return Vec::new() };
    let stem = strip_extension(last);
    let lower = stem.to_ascii_lowercase();
    let telling = |dir: &&&str| !SYSTEM_DIRS.contains(dir) && !GENERIC.contains(dir);
    match parents.iter().rev().find(telling) {
        Some(dir) if GENERIC.contains(&lower.as_str()) => vec![(*dir).to_string(), stem.to_string()],
        _ => vec![stem.to_string()],
    }
}

/// The last `keep` components of a path, without system directories if
/// `drop_system` (`/etc/cron.daily` is `cron.daily`).
pub(super) fn path_parts(path: &str, keep: usize, drop_system: bool) -> Vec<String> {
    let components: Vec<&str> =
        path.split('/').filter(|c| is_component(c) && !(drop_system && SYSTEM_DIRS.contains(c))).collect();
    components[components.len().saturating_sub(keep)..].iter().map(ToString::to_string).collect()
}

/// A path component that can be part of a name.
fn is_component(text: &str) -> bool {
    !text.is_empty() && text != "." && text != ".." && !text.contains(EXPANSION) && !is_token(text)
}

fn strip_extension(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && SCRIPT_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) => stem,
        _ => name,
    }
}

pub(super) fn is_option(text: &str) -> bool {
    text.len() > 1 && text.starts_with(['-', '+'])
}

/// `--name=value` as (`--name`, `value`); any other word as itself.
pub(super) fn split_option(text: &str) -> (&str, Option<&str>) {
    match text.split_once('=') {
        Some((option, value)) if option.starts_with("--") => (option, Some(value)),
        _ => (text, None),
    }
}

/// A subcommand, database or host name: short, plain, with a letter.
fn is_word(text: &str) -> bool {
    text.len() <= 32
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "_.:@+-".contains(c))
        && text.chars().any(|c| c.is_ascii_alphabetic())
}

/// A key, id or hash (`eb095278-f28d-...`): it would make a name unreadable,
/// and a secret has no place in one.
fn is_token(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let plain = text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let hex = text.len() >= 8 && text.chars().all(|c| c.is_ascii_hexdigit()) && digits > 0 && digits < text.len();
    plain && ((text.len() >= 16 && digits >= 4) || hex)
}
