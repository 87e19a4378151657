//! The man pages: taskq(1), one page per command (taskq-run(1), ...), and
//! taskq.toml(5) for the jobs file. A command's page is what clap_mangen
//! renders from the clap definition plus the sections this module holds in
//! tables (`pages/`): exit status, signals, environment, files, examples.
//! taskq.toml(5) is written from a table of every key, which a test holds
//! to the keys the config parser accepts (`jobs_toml`).
//!
//! The same renderings are committed under man/; `taskq man` prints them,
//! and a test fails when the committed ones are stale.

mod command;
mod jobs_toml;
mod pages;
mod render;
mod shared;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::UsageError;

/// The jobs file's page, as `taskq man` takes its name.
pub const JOBS_TOML_PAGE: &str = "taskq.toml";

/// A rendered page: its file name (`taskq-run.1`) and its roff text.
pub type Page = (String, Vec<u8>);

/// Every page: `taskq.1`, one `taskq-COMMAND.1` per command, `taskq.toml.5`.
pub fn pages() -> anyhow::Result<Vec<Page>> {
    let mut root = Cli::command();
    root.build();
    let mut out = vec![("taskq.1".to_string(), command::render(&root, "taskq", pages::doc("taskq")?)?)];
    for sub in root.get_subcommands().filter(|s| s.get_name() != "help" && !s.is_hide_set()) {
        let name = format!("taskq-{}", sub.get_name());
        let page = command::render(sub, &name, pages::doc(sub.get_name())?)?;
        out.push((format!("{name}.1"), page));
    }
    out.push((format!("{JOBS_TOML_PAGE}.5"), jobs_toml::render()));
    Ok(out)
}

/// The page `name` names, as `taskq man` takes it: `taskq` (the default), a
/// command (`run`, `taskq-run`, `taskq-run.1`), or `taskq.toml` (also
/// `jobs.toml`, `taskq.toml.5`).
pub fn page(name: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let wanted = file_name(name.unwrap_or("taskq"));
    let all = pages()?;
    if let Some((_, page)) = all.iter().find(|(file, _)| *file == wanted) {
        return Ok(page.clone());
    }
    let names: Vec<&str> = all.iter().map(|(file, _)| short_name(file)).collect();
    let given = name.unwrap_or_default();
    let hint = crate::config::did_you_mean(given, names.iter().copied())
        .map(|near| format!(" (did you mean \"{near}\"?)"))
        .unwrap_or_default();
    Err(UsageError(format!("no man page \"{given}\"{hint}; the pages: {}", names.join(", "))).into())
}

/// The file a page name given to `taskq man` means.
fn file_name(name: &str) -> String {
    let bare = name.strip_suffix(".1").or_else(|| name.strip_suffix(".5")).unwrap_or(name);
    match bare {
        "taskq" => "taskq.1".to_string(),
        JOBS_TOML_PAGE | "jobs.toml" => format!("{JOBS_TOML_PAGE}.5"),
        command => format!("taskq-{}.1", command.strip_prefix("taskq-").unwrap_or(command)),
    }
}

/// How `taskq man` lists a page: `taskq`, `run`, `taskq.toml`.
fn short_name(file: &str) -> &str {
    let bare = file.strip_suffix(".1").or_else(|| file.strip_suffix(".5")).unwrap_or(file);
    if bare == "taskq" { bare } else { bare.strip_prefix("taskq-").unwrap_or(bare) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_take_every_spelling() {
        for (given, file) in [
            ("taskq", "taskq.1"),
            ("taskq.1", "taskq.1"),
            ("run", "taskq-run.1"),
            ("taskq-run", "taskq-run.1"),
            ("taskq-run.1", "taskq-run.1"),
            ("import-crontab", "taskq-import-crontab.1"),
            ("taskq.toml", "taskq.toml.5"),
            ("taskq.toml.5", "taskq.toml.5"),
            ("jobs.toml", "taskq.toml.5"),
        ] {
            assert_eq!(file_name(given), file, "{given}");
        }
        assert_eq!(
            [short_name("taskq.1"), short_name("taskq-run.1"), short_name("taskq.toml.5")],
            ["taskq", "run", "taskq.toml"]
        );
    }

    #[test]
    fn an_unknown_page_is_a_usage_error_naming_the_near_one() {
        let err = page(Some("rum")).unwrap_err();
        assert!(err.is::<UsageError>());
        let text = err.to_string();
        assert!(text.starts_with("no man page \"rum\" (did you mean \"run\"?); the pages: taskq, check,"), "{text}");
        assert!(text.ends_with(", taskq.toml"), "{text}");
    }
}
