//! The man pages: each command's page has the sections a reader looks for,
//! its examples are command lines taskq accepts, every example of the
//! `--help` texts is on a page, the pages the systemd units name exist, and
//! groff renders every page without a warning. (That the committed pages
//! are current is `cli::completions_and_man_pages_are_current`; that
//! taskq.toml(5) documents every key is a unit test beside it.)

use std::collections::BTreeMap;

use clap::CommandFactory;
use predicates::prelude::*;

use crate::common::Env;

/// Every page by file name, as roff text.
fn pages() -> BTreeMap<String, String> {
    taskq::commands::man_pages()
        .expect("the pages render")
        .into_iter()
        .map(|(name, page)| (name, String::from_utf8(page).expect("UTF-8")))
        .collect()
}

/// The `.SH` headings of a page, unquoted.
fn headings(page: &str) -> Vec<String> {
    page.lines().filter_map(|l| l.strip_prefix(".SH ")).map(|h| h.trim_matches('"').to_string()).collect()
}

/// The text of section `title`, up to the next `.SH`.
fn section(page: &str, title: &str) -> String {
    let mut lines = page.lines().skip_while(|l| l.strip_prefix(".SH ").map(|h| h.trim_matches('"')) != Some(title));
    lines.next();
    lines.take_while(|l| !l.starts_with(".SH ")).collect::<Vec<_>>().join("\n")
}

/// Roff text as a reader sees it: escapes undone, fonts dropped.
fn plain(roff: &str) -> String {
    roff.replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\*(Aq", "'")
        .replace("\\-", "-")
        .replace("\\&", "")
        .replace("\\\\", "\\")
}

/// The lines of each `.nf` display of `text`, as shown.
fn displays(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        match line {
            ".nf" => inside = true,
            ".fi" => inside = false,
            _ if inside => out.push(plain(line)),
            _ => {}
        }
    }
    out
}

#[test]
fn every_command_page_has_exit_status_environment_files_and_examples() {
    let pages = pages();
    let commands: Vec<String> = taskq::cli::Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| format!("taskq-{}.1", c.get_name()))
        .chain(["taskq.1".to_string()])
        .collect();
    for file in &commands {
        let page = pages.get(file).unwrap_or_else(|| panic!("no page {file}"));
        let have = headings(page);
        for wanted in ["NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"]
        {
            assert!(have.iter().any(|h| h == wanted), "{file} has no {wanted}: {have:?}");
        }
        assert!(section(page, "EXIT STATUS").contains(".TP\n\\fB0\\fR\n"), "{file}: exit status 0 is not told");
    }
    for file in ["taskq-run.1", "taskq-beat.1"] {
        let signals = plain(&section(&pages[file], "SIGNALS"));
        for signal in ["TERM", "INT", "HUP"] {
            assert!(signals.contains(signal), "{file}: SIGNALS does not tell {signal}:\n{signals}");
        }
    }
    assert!(pages.contains_key("taskq.toml.5"), "{:?}", pages.keys());
}

/// A sample id, standing for `$id` and `$(...)` in examples.
const ID: &str = "019364e1-7c5a-7d3e-9f7e-2b1d0c4a5e6f";

/// Shell words, quotes removed, up to the first redirection; a `$VAR` is
/// taken for an id.
fn words(segment: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in segment.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                started = false;
            }
            (_, c) => word.push(c),
        }
    }
    if started || !word.is_empty() {
        out.push(word);
    }
    let end = out.iter().position(|w| w.starts_with('>') || w.starts_with('<') || w.starts_with("2>"));
    out.truncate(end.unwrap_or(out.len()));
    out.into_iter().map(|w| if w.starts_with('$') { ID.to_string() } else { w }).collect()
}

/// The taskq command lines in a shell line: each `$(...)` (and `<(...)`)
/// taken apart and replaced by an id, then each command of a pipeline or
/// list from its `taskq` on.
fn taskq_commands(line: &str) -> Vec<Vec<String>> {
    let mut line = line.replace("<(", "$(");
    let mut found = Vec::new();
    while let Some(start) = line.rfind("$(") {
        let Some(len) = line[start..].find(')') else { break };
        let inner = line[start + 2..start + len].to_string();
        found.extend(taskq_commands(&inner));
        line.replace_range(start..=start + len, ID);
    }
    for segment in line.split(['|', ';', '&']) {
        // The word taskq, unquoted (`source = "taskq"` in TOML is not a command).
        let raw: Vec<&str> = segment.split_whitespace().collect();
        if let Some(at) = raw.iter().position(|w| *w == "taskq") {
            let mut command = words(&raw[at..].join(" "));
            if at > 0 && raw[at - 1] == "xargs" {
                command.push(ID.to_string());
            }
            found.push(command);
        }
    }
    found
}

#[test]
fn the_examples_on_every_page_are_command_lines_taskq_accepts() {
    let mut refused = Vec::new();
    let mut checked = 0;
    for (file, page) in pages() {
        // Continuation lines joined: `taskq ... |` and `taskq ... \`.
        let text = displays(&page).join("\n").replace("\\\n", " ").replace("|\n", "| ");
        for line in text.lines() {
            for command in taskq_commands(line) {
                checked += 1;
                if let Err(e) = taskq::cli::Cli::try_parse_args(&command) {
                    refused.push(format!("{file}: {}: {}", command.join(" "), e.to_string().trim()));
                }
            }
        }
    }
    assert!(checked > 60, "only {checked} examples found");
    assert!(refused.is_empty(), "examples taskq refuses:\n{}", refused.join("\n"));
}

#[test]
fn the_examples_of_the_help_texts_are_on_the_pages() {
    let pages = pages();
    let root = taskq::cli::Cli::command();
    let commands = std::iter::once(("taskq.1".to_string(), &root))
        .chain(root.get_subcommands().map(|c| (format!("taskq-{}.1", c.get_name()), c)));
    for (file, command) in commands {
        let Some(help) = command.get_after_long_help().map(ToString::to_string) else { continue };
        let Some(examples) = help.strip_prefix("EXAMPLES:\n") else { continue };
        let shown = displays(&section(&pages[&file], "EXAMPLES"));
        for example in examples.lines() {
            // The command, without what the help says about it.
            let command = example.trim().split("  ").next().unwrap_or_default().trim();
            assert!(shown.iter().any(|l| l == command), "{file}: EXAMPLES lacks `{command}` of --help");
        }
    }
}

#[test]
fn the_pages_the_systemd_units_name_exist() {
    let pages = pages();
    let units = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/systemd");
    let mut named = 0;
    for entry in std::fs::read_dir(&units).expect("contrib/systemd") {
        let path = entry.expect("an entry").path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for reference in text.split_whitespace().filter_map(|w| w.split_once("man:").map(|(_, r)| r)) {
            let (name, section) = reference.trim_end_matches(')').split_once('(').expect("man:NAME(SECTION)");
            assert!(pages.contains_key(&format!("{name}.{section}")), "{}: no page {reference}", path.display());
            named += 1;
        }
    }
    assert!(named >= 2, "the units name taskq-run(1) and taskq-beat(1)");
}

#[test]
fn groff_renders_every_page_without_a_warning() {
    if std::process::Command::new("groff").arg("--version").output().is_err() {
        eprintln!("groff is not installed: the pages' rendering is not checked");
        return;
    }
    for (file, page) in pages() {
        let mut groff = std::process::Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("groff starts");
        std::io::Write::write_all(&mut groff.stdin.take().expect("stdin"), page.as_bytes()).expect("groff reads");
        let out = groff.wait_with_output().expect("groff ends");
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && warnings.is_empty(), "{file}: {warnings}");
    }
}

#[test]
fn man_prints_the_page_asked_for() {
    let env = Env::sqlite();
    env.run(&["man"]).success().stdout(predicate::str::contains(".TH taskq 1 "));
    env.run(&["man", "run"]).success().stdout(predicate::str::contains(".TH taskq-run 1 "));
    env.run(&["man", "taskq-beat.1"]).success().stdout(predicate::str::contains(".TH taskq-beat 1 "));
    env.run(&["man", "taskq.toml"]).success().stdout(predicate::str::contains(".TH taskq.toml 5 "));
    env.run(&["man", "jobs.toml"]).success().stdout(predicate::str::contains("job definitions file, jobs.toml"));
    env.run(&["man", "rum"]).code(2).stdout("").stderr(predicate::str::starts_with(
        "error: no man page \"rum\" (did you mean \"run\"?); the pages: taskq, check, ",
    ));
}
