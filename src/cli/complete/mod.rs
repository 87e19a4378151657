//! Shell completion that knows the config: clap_complete's dynamic engine,
//! which the shell calls back into at each TAB (`COMPLETE=bash taskq --
//! taskq enqueue ba`). This module owns that round trip: telling a
//! completion request from a normal run, the script a shell sources
//! (`taskq completions SHELL`, also committed under completions/), and the
//! line being completed, whose `-f`/`--broker`/`--namespace` the value
//! completers of `values` follow. What the candidates are is `values`'.
//!
//! A completion never writes to stderr and never fails loudly: the shell
//! shows whatever it prints (bash does not even hide stderr), so anything
//! wrong (no config, a broken one, a broker that does not answer) is no
//! candidates.

mod values;

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::CommandFactory;
use clap_complete::ArgValueCompleter;
use clap_complete::env::{CompleteEnv, Shells};

use super::Cli;
use crate::names::Namespace;

/// The environment variable that asks for completions, clap_complete's.
const VAR: &str = "COMPLETE";
/// The command the scripts complete, and call back: the one on PATH, so a
/// packaged script works wherever the binary is installed.
const BIN: &str = "taskq";

/// Answers a completion request and returns its exit code, or `None` for a
/// normal run. Call first in `main`: without the variable this costs one
/// environment lookup.
pub fn from_env() -> Option<ExitCode> {
    let shell = std::env::var_os(VAR)?;
    // Only a shell's name asks for completions: a `COMPLETE=1` left in some
    // environment must not turn a worker into a completer (or an error).
    let name = Path::new(&shell).file_stem()?.to_str()?;
    Shells::builtins().completer(name)?;
    // A panic's message would land in the user's prompt.
    std::panic::set_hook(Box::new(|_| {}));
    let current_dir = std::env::current_dir().ok();
    let answered = std::panic::catch_unwind(|| {
        CompleteEnv::with_factory(command)
            .var(VAR)
            .bin(BIN)
            .completer(BIN)
            .try_complete(std::env::args_os(), current_dir.as_deref())
    });
    Some(match answered {
        Ok(Ok(_)) => ExitCode::SUCCESS,
        // The scripts take a failure as no candidates.
        Ok(Err(_)) | Err(_) => ExitCode::FAILURE,
    })
}

/// Writes the script that registers taskq's completions with `shell`: what
/// `COMPLETE=SHELL taskq` prints. For zsh, a last line lets the same file
/// be autoloaded from `$fpath` as `_taskq` (as packages install it), where
/// the first TAB runs the file itself rather than the function it registers.
pub fn registration(shell: clap_complete::Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer =
        shells.completer(&name).ok_or_else(|| std::io::Error::other(format!("no completion script for {name}")))?;
    completer.write_registration(VAR, BIN, BIN, BIN, out)?;
    if shell == clap_complete::Shell::Zsh {
        writeln!(out, "if [[ ${{funcstack[1]}} = _{BIN} ]]; then _clap_dynamic_completer_{BIN} \"$@\"; fi")?;
    }
    Ok(())
}

/// The command tree the engine completes from: without hidden subcommands
/// (`__reap`), and, unless the word being completed starts with `-`, with
/// every option hidden, so that `taskq enqueue <TAB>` lists jobs rather than
/// jobs and thirty flags (the engine still offers hidden candidates when
/// there is nothing else, so no config still completes options).
fn command() -> clap::Command {
    // Built before the completers are added: parsing builds a subcommand's
    // arguments only when it is invoked (`defer` in cli/mod.rs).
    let mut command = visible(Cli::command());
    command.build();
    let mut command = with_completers(command, "");
    if !request().current.as_encoded_bytes().starts_with(b"-") {
        hide_options(&mut command);
    }
    command
}

/// A value completer: the word typed so far to the candidates.
type Completer = fn(&OsStr) -> Vec<clap_complete::CompletionCandidate>;

/// Which argument each completer serves: the subcommand's path, the
/// argument's id (its field's name in the clap definition). They are added
/// here, in completion mode only, rather than in the definition: each one
/// added there would be built (and dropped) by every `taskq enqueue`.
const COMPLETERS: &[(&str, &str, Completer)] = &[
    ("enqueue", "job", values::jobs_and_workflows),
    ("enqueue", "queue", values::queues),
    ("enqueue", "then", values::jobs),
    ("run", "queues", values::queue_list),
    ("exec", "job", values::jobs),
    ("status", "ids", values::ids),
    ("wait", "ids", values::ids),
    ("logs", "id", values::job_ids),
    ("history", "job", values::jobs_and_workflows),
    ("list", "state", values::states),
    ("list", "queue", values::queues),
    ("list", "job", values::jobs),
    ("schedule pause", "name", values::schedules),
    ("schedule resume", "name", values::schedules),
    ("schedule trigger", "name", values::schedules),
    ("revoke", "id", values::unfinished_ids),
    ("retry", "ids", values::failed_ids),
    ("purge", "queue", values::queues),
];

/// `command` (at `path`, "" for the root) with the completers of
/// `COMPLETERS` added to its arguments and its subcommands'. Arguments and
/// subcommands keep their order (positionals are numbered by it).
fn with_completers(command: clap::Command, path: &str) -> clap::Command {
    let command = command.mut_args(|arg| {
        let completer = COMPLETERS.iter().find(|(at, id, _)| *at == path && arg.get_id() == *id);
        match completer {
            Some(&(_, _, complete)) => arg.add(ArgValueCompleter::new(complete)),
            None => arg,
        }
    });
    command.mut_subcommands(|sub| {
        let path = if path.is_empty() { sub.get_name().to_string() } else { format!("{path} {}", sub.get_name()) };
        with_completers(sub, &path)
    })
}

fn hide_options(command: &mut clap::Command) {
    *command = std::mem::take(command).mut_args(|a| if a.is_positional() { a } else { a.hide(true) });
    for sub in command.get_subcommands_mut() {
        hide_options(sub);
    }
}

/// `command` without its hidden subcommands (`__reap`), which clap_complete,
/// unlike clap_mangen, would offer. clap cannot remove a subcommand, so the
/// root is rebuilt from the parts completion needs: its name, version,
/// about, its own arguments, and the visible subcommands as they are.
fn visible(command: clap::Command) -> clap::Command {
    if !command.get_subcommands().any(clap::Command::is_hide_set) {
        return command;
    }
    let mut root = clap::Command::new(command.get_name().to_string())
        .propagate_version(command.is_propagate_version_set())
        .args(command.get_arguments().cloned())
        .subcommands(command.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(version) = command.get_version() {
        root = root.version(version.to_string());
    }
    if let Some(about) = command.get_about() {
        root = root.about(about.clone());
    }
    root
}

/// The line being completed, as the shell's script passed it after `--`.
#[derive(Debug, Default)]
struct Request {
    /// The word under the cursor (up to it).
    current: OsString,
    /// The global flags the rest of the line gives (or the environment).
    flags: Flags,
}

/// What `-f`, `--broker` and `--namespace` say on the line being completed,
/// else `$TASKQ_CONFIG`, `$TASKQ_BROKER`, `$TASKQ_NAMESPACE`.
#[derive(Debug, Default, Clone)]
struct Flags {
    config: Option<PathBuf>,
    broker: Option<String>,
    namespace: Option<Namespace>,
}

/// The request this process answers, read from its arguments once.
fn request() -> &'static Request {
    static REQUEST: OnceLock<Request> = OnceLock::new();
    REQUEST.get_or_init(|| {
        let args: Vec<OsString> = std::env::args_os().collect();
        let words = args.iter().position(|a| a == "--").map_or(&[][..], |at| &args[at + 1..]);
        // bash, zsh and elvish say where the cursor is; fish and PowerShell
        // pass the words up to it.
        let index = std::env::var("_CLAP_COMPLETE_INDEX")
            .ok()
            .and_then(|i| i.parse::<usize>().ok())
            .unwrap_or(words.len().saturating_sub(1));
        read_request(words, index)
    })
}

/// The word at `index` and the flags of the others: a `-f` after the cursor
/// counts too, as it will when the line runs.
fn read_request(words: &[OsString], index: usize) -> Request {
    let current = words.get(index).cloned().unwrap_or_default();
    let others: Vec<OsString> = words.iter().enumerate().filter(|&(i, _)| i != index).map(|(_, w)| w.clone()).collect();
    Request { current, flags: partial_flags(&rejoin_equals(others)) }
}

/// bash splits `--config=x.toml` into `--config`, `=`, `x.toml`
/// (`=` is in COMP_WORDBREAKS); put such a flag back together.
fn rejoin_equals(words: Vec<OsString>) -> Vec<OsString> {
    let mut joined: Vec<OsString> = Vec::with_capacity(words.len());
    let mut words = words.into_iter().peekable();
    while let Some(word) = words.next() {
        let after_long = joined.last().is_some_and(|w| w.as_encoded_bytes().starts_with(b"--"));
        if word == "=" && after_long {
            if let Some(last) = joined.last_mut() {
                last.push("=");
                if let Some(value) = words.next() {
                    last.push(value);
                }
            }
        } else {
            joined.push(word);
        }
    }
    joined
}

/// The global flags of a line that may be incomplete or wrong, as clap
/// reads them up to the first error, then their environment fallbacks.
/// Every value is taken as it is, so that a value still being written
/// (`--delay 5`) or wrong stops nothing: only a flag clap does not know does.
fn partial_flags(words: &[OsString]) -> Flags {
    let mut words = words.to_vec();
    super::parse::follow_after_logs(&mut words);
    let mut command = Cli::command().ignore_errors(true);
    command.build();
    accept_any_value(&mut command);
    let Ok(matches) = command.try_get_matches_from(&words) else {
        // `--help` or `--version` on the line: the environment's, then.
        return Flags {
            config: std::env::var_os("TASKQ_CONFIG").filter(|v| !v.is_empty()).map(PathBuf::from),
            broker: std::env::var("TASKQ_BROKER").ok().filter(|v| !v.is_empty()),
            namespace: std::env::var("TASKQ_NAMESPACE").ok().and_then(|v| Namespace::new(&v).ok()),
        };
    };
    // The ids are `GlobalArgs`' field names (a test holds them to it).
    let value = |id: &str| matches.try_get_one::<OsString>(id).ok().flatten().cloned();
    Flags {
        config: value("config").map(PathBuf::from),
        broker: value("broker").and_then(|v| v.into_string().ok()),
        namespace: value("namespace").and_then(|v| Namespace::new(&v.to_string_lossy()).ok()),
    }
}

fn accept_any_value(command: &mut clap::Command) {
    *command = std::mem::take(command)
        .mut_args(|a| if a.get_action().takes_values() { a.value_parser(clap::value_parser!(OsString)) } else { a });
    for sub in command.get_subcommands_mut() {
        accept_any_value(sub);
    }
}

/// Keeps the candidates that start with what was typed.
fn matching(
    current: &OsStr,
    candidates: Vec<clap_complete::CompletionCandidate>,
) -> Vec<clap_complete::CompletionCandidate> {
    let typed = current.to_string_lossy();
    candidates.into_iter().filter(|c| c.get_value().to_string_lossy().starts_with(typed.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(line: &str) -> (Option<String>, Option<String>, Option<String>) {
        let words: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        let f = read_request(&words, words.len() - 1).flags;
        (f.config.map(|p| p.display().to_string()), f.broker, f.namespace.map(|n| n.as_str().to_string()))
    }

    #[test]
    fn the_flags_of_a_partial_line_are_read_wherever_they_stand() {
        let some = |s: &str| Some(s.to_string());
        for (line, want) in [
            ("taskq -f j.toml enqueue ", (some("j.toml"), None, None)),
            ("taskq enqueue --config j.toml ", (some("j.toml"), None, None)),
            ("taskq --config = j.toml enqueue ", (some("j.toml"), None, None)),
            (
                "taskq -vf j.toml --broker sqlite:///q.db --namespace app status ",
                (some("j.toml"), some("sqlite:///q.db"), some("app")),
            ),
            ("taskq -f j.toml logs -f ", (some("j.toml"), None, None)),
            ("taskq logs -f ", (None, None, None)),
            ("taskq enqueue --delay soon -f j.toml ", (some("j.toml"), None, None)),
        ] {
            assert_eq!(flags(line), want, "{line}");
        }
    }

    #[test]
    fn the_word_under_the_cursor_is_not_read_as_a_flag_value() {
        let words: Vec<OsString> =
            ["taskq", "-f", "j.toml", "enqueue", "ba", "-f", "other.toml"].map(OsString::from).to_vec();
        let request = read_request(&words, 4);
        assert_eq!(request.current, "ba");
        assert_eq!(request.flags.config.as_deref(), Some(Path::new("other.toml")));
    }

    #[test]
    fn every_completer_serves_an_argument() {
        let mut command = Cli::command();
        command.build();
        let command = with_completers(command, "");
        for (path, id, _) in COMPLETERS {
            let mut at = &command;
            for name in path.split(' ') {
                at = at.find_subcommand(name).unwrap_or_else(|| panic!("no subcommand {path}"));
            }
            let arg = at.get_arguments().find(|a| a.get_id() == *id).unwrap_or_else(|| panic!("{path} has no {id}"));
            assert!(arg.get::<ArgValueCompleter>().is_some(), "{path} {id}");
        }
    }

    #[test]
    fn the_completion_tree_has_no_hidden_subcommand() {
        let command = visible(Cli::command());
        assert!(command.get_subcommands().all(|s| !s.is_hide_set()));
        assert!(command.find_subcommand("enqueue").is_some());
    }
}
