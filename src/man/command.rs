//! A command's page: what clap_mangen renders from the clap definition
//! (NAME, SYNOPSIS, the options), around the sections written here from
//! [`CommandDoc`]: DESCRIPTION, EXIT STATUS, SIGNALS, ENVIRONMENT, FILES,
//! EXAMPLES and SEE ALSO.

use clap_mangen::roff::{bold, italic, roman};

use super::render::{Doc, without_preamble};
use super::shared::{Entry, JOB_VARS};

/// What a command's page says beyond its clap definition. The `&str`s are
/// in the markup of `render.rs`.
pub(super) struct CommandDoc {
    /// The command as typed after `taskq` (`run`); `taskq` for taskq(1).
    pub(super) name: &'static str,
    pub(super) description: &'static str,
    /// Each exit code and what it means for this command.
    pub(super) exit_status: &'static [Entry],
    /// Signals whose effect matters here; none: the page has no SIGNALS.
    pub(super) signals: &'static [Entry],
    pub(super) environment: &'static [Entry],
    /// Whether the page lists the variables taskq sets for jobs.
    pub(super) job_environment: bool,
    pub(super) files: &'static [Entry],
    /// What an example does, and its command line.
    pub(super) examples: &'static [Entry],
    pub(super) see_also: &'static [&'static str],
}

/// The page `command` (the root command, or one of its subcommands named
/// `page`, e.g. `taskq-run`) documented by `doc`.
pub(super) fn render(command: &clap::Command, page: &str, doc: &CommandDoc) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(command.clone().name(page.to_string()).display_name(page.to_string()));
    let mut out = Doc::title(page, "1", concat!("taskq ", env!("CARGO_PKG_VERSION")));
    clap_part(&mut out, |w| man.render_name_section(w))?;
    clap_part(&mut out, |w| man.render_synopsis_section(w))?;

    let mut ours = Doc::new();
    ours.section("DESCRIPTION").text(doc.description);
    let mut after_options = Doc::new();
    subcommands(&mut after_options, command, doc.name);
    extra(&mut after_options, command);
    out.extend(ours.into_bytes());
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        clap_part(&mut out, |w| man.render_options_section(w))?;
    }
    out.extend(after_options.into_bytes());

    let mut rest = Doc::new();
    list(&mut rest, "EXIT STATUS", doc.exit_status, true);
    list(&mut rest, "SIGNALS", doc.signals, true);
    list(&mut rest, "ENVIRONMENT", doc.environment, true);
    if doc.job_environment {
        rest.subsection("Set for jobs").text(
            "A shell job runs as `SHELL -c COMMAND JOBNAME ARGS...` in a process group of its own, with the \
             worker's environment (less systemd's variables), then its `env`, then these:",
        );
        for (name, text) in JOB_VARS {
            rest.item(vec![bold(*name)], text);
        }
    }
    list(&mut rest, "FILES", doc.files, false);
    rest.section("EXAMPLES");
    for (what, command) in doc.examples {
        rest.example(what, command);
    }
    rest.section("SEE ALSO").pages(doc.see_also);
    out.extend(rest.into_bytes());
    clap_part(&mut out, |w| man.render_version_section(w))?;
    Ok(out)
}

/// Appends a section clap_mangen renders.
fn clap_part(out: &mut Vec<u8>, render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut section = Vec::new();
    render(&mut section)?;
    out.extend_from_slice(without_preamble(&section));
    Ok(())
}

/// A section of tagged entries (none: no section). Tags are bold, or
/// italic for files, as man pages set them.
fn list(doc: &mut Doc, title: &str, entries: &[Entry], bold_tags: bool) {
    if entries.is_empty() {
        return;
    }
    doc.section(title);
    for (tag, text) in entries {
        // `*N*`: a tag that stands for a value, in italics.
        let tag = match tag.strip_prefix('*').and_then(|t| t.strip_suffix('*')) {
            Some(placeholder) => italic(placeholder),
            None if bold_tags => bold(*tag),
            None => italic(*tag),
        };
        doc.item(vec![tag], text);
    }
}

/// The commands a command has: for taskq(1) each one's page, for `schedule`
/// each subcommand's usage (they have no pages of their own).
fn subcommands(doc: &mut Doc, command: &clap::Command, name: &str) {
    let subs: Vec<&clap::Command> =
        command.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help").collect();
    if subs.is_empty() {
        return;
    }
    doc.section("COMMANDS");
    for sub in subs {
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        let tag = if name == "taskq" {
            vec![bold(format!("taskq-{}", sub.get_name())), roman("(1)")]
        } else {
            let mut tag = vec![bold(format!("taskq {name} {}", sub.get_name()))];
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set() && !a.is_global_set()) {
                let takes = arg.get_action().takes_values();
                match (arg.get_long(), arg.is_positional()) {
                    (_, true) => tag.extend([roman(" "), italic(arg.get_id().as_str().to_uppercase())]),
                    (Some(long), false) if !takes && !matches!(long, "help" | "version") => {
                        tag.extend([roman(" ["), bold(format!("--{long}")), roman("]")]);
                    }
                    _ => {}
                }
            }
            tag
        };
        doc.item(tag, &about);
    }
}

/// A command's `after_long_help` beyond its examples (which EXAMPLES
/// holds), e.g. top's KEYS: its heading, then two-column lines as a list
/// and other lines as text.
fn extra(doc: &mut Doc, command: &clap::Command) {
    let Some(help) = command.get_after_long_help().map(ToString::to_string) else { return };
    let mut lines = help.lines();
    let Some(heading) = lines.next().and_then(|l| l.strip_suffix(':')) else { return };
    if heading == "EXAMPLES" {
        return;
    }
    doc.section(heading);
    let mut text = Vec::new();
    for line in lines {
        match line.strip_prefix("    ").and_then(|l| l.split_once("  ")) {
            Some((keys, what)) => {
                doc.item(vec![bold(keys.trim())], what.trim());
            }
            None if !line.trim().is_empty() => text.push(line.trim()),
            None => {}
        }
    }
    if !text.is_empty() {
        doc.text(&text.join(" "));
    }
}
