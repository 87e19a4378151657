//! Parsing a command line into [`Cli`]: `logs -f`, and errors made one line.

use std::ffi::OsString;

use clap::Parser;

use super::Cli;

impl Cli {
    /// Parses a command line. `taskq logs ID -f` follows, like `tail -f`,
    /// although `-f` is the global `--config`: after `logs`, a bare `-f`
    /// is read as `--follow` (clap cannot give one short flag two meanings).
    pub fn try_parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        follow_after_logs(&mut args);
        <Cli as Parser>::try_parse_from(&args).map_err(|e| match e.kind() {
            // clap names no argument and adds a usage block; say which one.
            clap::error::ErrorKind::InvalidUtf8 => {
                let (n, bad) = args.iter().enumerate().skip(1).find(|(_, a)| a.to_str().is_none()).unzip();
                let shown = bad.map(|a| crate::text::bytes_one_line(a.as_encoded_bytes())).unwrap_or_default();
                clap::Error::raw(
                    e.kind(),
                    format!(
                        "argument {} (\"{shown}\") is not valid UTF-8: taskq takes job names, arguments and parameters as UTF-8 text\n",
                        n.unwrap_or_default()
                    ),
                )
            }
            // A value a typed argument refused: the reason our parser gave,
            // naming the flag and the value as taskq's own errors do.
            clap::error::ErrorKind::ValueValidation => {
                clap::Error::raw(e.kind(), format!("{}\n", crate::text::one_line(&invalid_value(&e, &args))))
            }
            // Help and version text stay as they are.
            _ if !e.use_stderr() => e,
            // A command that needs a subcommand (`taskq`, `taskq schedule`):
            // one line naming the subcommands, not the help squashed.
            clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let path: Vec<String> = args
                    .iter()
                    .skip(1)
                    .filter_map(|a| a.to_str())
                    .take_while(|a| !a.starts_with('-'))
                    .map(str::to_string)
                    .collect();
                let mut cmd = <Cli as clap::CommandFactory>::command();
                for name in &path {
                    match cmd.find_subcommand(name).cloned() {
                        Some(sub) => cmd = sub,
                        None => break,
                    }
                }
                let subs: Vec<String> =
                    cmd.get_subcommands().filter(|c| !c.is_hide_set()).map(|c| c.get_name().to_string()).collect();
                let named = std::iter::once("taskq".to_string()).chain(path).collect::<Vec<_>>().join(" ");
                clap::Error::raw(
                    e.kind(),
                    format!("{named} needs a subcommand: {} (see '{named} --help')\n", subs.join(", ")),
                )
            }
            // An error is one line (SPEC §2): the message and clap's tip, not
            // its usage block.
            kind => {
                let rendered = e.render().to_string();
                let mut parts = rendered.lines().map(str::trim).filter(|l| {
                    !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
                });
                let first = parts.next().unwrap_or_default().trim_start_matches("error: ").to_string();
                let rest: Vec<&str> = parts.collect();
                let line = match (first.strip_suffix(':'), rest.is_empty()) {
                    (_, true) => first,
                    // "the following required arguments were not provided:" and a list
                    (Some(intro), false) => format!("{intro}: {}", rest.join(", ")),
                    (None, false) => format!("{first}; {}", rest.join("; ")),
                };
                let known = |name: &str| <Cli as clap::CommandFactory>::command().find_subcommand(name).is_some();
                let help = match subcommand_at(&args).map(|at| args[at].to_string_lossy().to_string()) {
                    Some(name) if known(&name) => format!("taskq {name} --help"),
                    _ => "taskq --help".to_string(),
                };
                clap::Error::raw(kind, format!("{line} (see '{help}')\n"))
            }
        })
    }
}

/// After `logs`, a bare `-f` is `--follow`: see [`Cli::try_parse_args`].
pub(super) fn follow_after_logs(args: &mut [OsString]) {
    // Finding the subcommand builds clap's whole command tree (a tenth of a
    // one-shot command's instructions): only a line that names `logs` needs it.
    if !args.iter().skip(1).any(|a| a == "logs") {
        return;
    }
    if let Some(at) = subcommand_at(args)
        && args[at] == "logs"
    {
        for arg in args[at + 1..].iter_mut().take_while(|a| *a != "--") {
            if arg == "-f" {
                *arg = "--follow".into();
            }
        }
    }
}

/// `invalid --delay "soon": <why>`, `--queue: invalid queue name ...`, or
/// for an argument without a flag (an id) the reason alone.
fn invalid_value(e: &clap::Error, args: &[OsString]) -> String {
    use clap::error::{ContextKind, ContextValue};
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let arg = context(ContextKind::InvalidArg);
    let mut flag = arg.split([' ', '=']).next().unwrap_or_default().to_string();
    // A value from the environment: name the variable, not a flag never given.
    let given = args.iter().filter_map(|a| a.to_str()).any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    if !given
        && let Some(var) = <Cli as clap::CommandFactory>::command()
            .get_arguments()
            .find(|a| a.get_long().is_some_and(|l| flag == format!("--{l}")))
            .and_then(clap::Arg::get_env)
    {
        flag = format!("${}", var.to_string_lossy());
    }
    let value = context(ContextKind::InvalidValue);
    let why = std::error::Error::source(e).map_or_else(|| e.to_string(), ToString::to_string);
    if !(flag.starts_with('-') || flag.starts_with('$')) || why.contains(&flag) {
        why
    } else if why.starts_with("invalid ") || why.starts_with("unknown ") {
        format!("{flag}: {why}")
    } else {
        format!("invalid {flag} \"{value}\": {why}")
    }
}

/// Where the subcommand's name is: the first argument that is neither a
/// flag nor the value of a global flag.
fn subcommand_at(args: &[OsString]) -> Option<usize> {
    // The global flags that take a value, as clap defines them.
    let command = <Cli as clap::CommandFactory>::command();
    let globals: Vec<&clap::Arg> =
        command.get_arguments().filter(|a| a.is_global_set() && a.get_action().takes_values()).collect();
    let long: Vec<&str> = globals.iter().filter_map(|a| a.get_long()).collect();
    let short: Vec<char> = globals.iter().filter_map(|a| a.get_short()).collect();
    let mut i = 1;
    while i < args.len() {
        let arg = args[i].to_string_lossy();
        let next_is_value = if let Some(name) = arg.strip_prefix("--") {
            // `--config=j.toml` carries its value.
            !name.contains('=') && long.contains(&name)
        } else if let Some(cluster) = arg.strip_prefix('-') {
            // `-vf j.toml`: a value-taking flag last in a cluster takes the
            // next argument; anywhere else (`-fj.toml`) the rest is its value.
            cluster.chars().position(|c| short.contains(&c)).is_some_and(|at| at + 1 == cluster.chars().count())
        } else {
            return Some(i);
        };
        i += if next_is_value { 2 } else { 1 };
    }
    None
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use crate::cli::{Cli, Command};

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    const ID: &str = "019364e1-7c5a-7d3e-9f7e-2b1d0c4a5e6f";

    fn logs(line: &str) -> (Option<String>, bool, String) {
        let line = line.replace("ID", ID);
        let cli = Cli::try_parse_args(line.split(' ')).expect("parses");
        let Command::Logs(args) = cli.command else { panic!("not logs: {line}") };
        (cli.global.config.map(|p| p.display().to_string()), args.follow, args.id.to_string())
    }

    #[test]
    fn dash_f_after_logs_follows_and_before_it_names_the_config() {
        for (line, want) in [
            ("taskq logs ID -f", (None, true, "ID")),
            ("taskq logs -f ID", (None, true, "ID")),
            ("taskq logs ID -F", (None, true, "ID")),
            ("taskq logs ID", (None, false, "ID")),
            ("taskq -f logs logs ID", (Some("logs"), false, "ID")),
            ("taskq -f j.toml logs ID -f", (Some("j.toml"), true, "ID")),
            ("taskq --broker x -v logs ID --config j.toml -f", (Some("j.toml"), true, "ID")),
            ("taskq -vf j.toml logs ID -f", (Some("j.toml"), true, "ID")),
            ("taskq -fj.toml logs ID -f", (Some("j.toml"), true, "ID")),
            ("taskq --config=j.toml logs ID -f", (Some("j.toml"), true, "ID")),
        ] {
            let (config, follow, id) = logs(line);
            assert_eq!((config.as_deref(), follow, id.as_str()), (want.0, want.1, ID), "{line}");
        }
        let cli = Cli::try_parse_args("taskq -f x.toml check".split(' ')).expect("parses");
        assert_eq!(cli.global.config.map(|p| p.display().to_string()).as_deref(), Some("x.toml"));
    }
}
