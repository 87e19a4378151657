//! Where a placeholder stands in text that is parsed again as code: a
//! shell's script (`sh -c '... {{n}} ...'`, `eval`, `ssh host ...`, `su -c`,
//! `trap`, `flock -c`, `watch`, `xargs ... sh -c`, a script piped, fed or
//! written to a shell or an interpreter, `source`), another interpreter's
//! program (`python3 -c`, `perl -e`, `node -e`, an `awk` program, a `sed`
//! script, `env -S`, `mapfile -C`), a command name, or what `${x@P}`, zsh's
//! `${(e)x}` and zsh's globbing of a value (`$~x`, `globsubst`, whose
//! qualifiers run code) expand. The outer shell expands the value into that
//! text and the inner parser reads it: the value becomes code, and no
//! quoting by taskq can prevent it. `check` refuses an untyped parameter
//! there and names the safe form, the value as an argument: `sh -c 'echo
//! "$1"' sh {{n}}`.
//!
//! This is a lint over the common forms, not a proof: a command can hand a
//! value to any program that runs text (docs/security.md says so). It is
//! coarse on purpose (a statement's words, quotes respected, options read
//! loosely; where the code is not one word, every placeholder of the
//! command counts): a false alarm only asks for a type or a pattern.

use std::collections::BTreeSet;

use super::contexts::{MARKER, marked};
use super::template::Template;

/// Programs whose option letters take a program text (`sh -c`, `perl -e`,
/// `node -p`), or that read one from stdin or a file operand.
const INTERPRETERS: [(&str, &str); 14] = [
    ("sh", "c"),
    ("bash", "c"),
    ("dash", "c"),
    ("zsh", "c"),
    ("ksh", "c"),
    ("ash", "c"),
    ("mksh", "c"),
    ("busybox", "c"),
    ("python", "c"),
    ("python3", "c"),
    ("perl", "eE"),
    ("ruby", "e"),
    ("node", "ep"),
    ("php", "rB"),
];
/// Programs whose `-c` (or `--command`) takes a shell command.
const RUNNERS: [&str; 4] = ["flock", "script", "su", "runuser"];
/// Commands after which every word is code, here or on another host.
const ALL_AFTER: [&str; 5] = ["eval", "ssh", "watch", "parallel", "trap"];
/// Words before a command's name: keywords and plain wrappers.
const PREFIXES: [&str; 16] = [
    "if", "then", "else", "elif", "do", "while", "until", "!", "time", "exec", "command", "builtin", "nohup", "sudo",
    "setsid", "{",
];
/// Commands that run a file the command may have written.
const SOURCES: [&str; 2] = ["source", "."];

/// The parameters a shell command places in text parsed again as code.
pub(super) fn evaluated_params(command: &Template) -> BTreeSet<String> {
    let (text, params) = marked(command);
    let statements = statements(&text);
    if runs_any_value(&text, &statements) {
        return params.into_iter().map(|(_, name)| name).collect();
    }
    let mut names = params.into_iter().map(|(_, name)| name);
    let mut out = BTreeSet::new();
    // A here-document's lines are text, not statements with a command name.
    let heredoc = has_heredoc(&text);
    // Markers appear in `text`, and so in the words, in the order of `params`.
    for Statement { words, named } in statements {
        let mut evaluated = vec![false; words.len()];
        mark_evaluated(&words, &mut evaluated, named && !heredoc);
        for (word, evaluated) in words.iter().zip(evaluated) {
            for _ in 0..word.markers {
                if let Some(name) = names.next()
                    && evaluated
                {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// Whether the command runs code it builds from any of its values, whichever
/// word they stand in: code expanded from a variable, a stream or a file fed
/// to a shell or an interpreter, a here-document to one, `xargs` into one.
fn runs_any_value(text: &str, statements: &[Statement]) -> bool {
    let zsh_flags_e = text
        .match_indices("${(")
        .any(|(at, _)| text[at + 3..].split(')').next().is_some_and(|flags| flags.contains('e')));
    let expands = text.contains("@P}") || zsh_flags_e;
    let globs = text.contains("$~")
        || text.contains("${~")
        || text.to_ascii_lowercase().contains("glob_subst")
        || text.to_ascii_lowercase().contains("globsubst");
    let heredoc =
        has_heredoc(text) && statements.iter().flat_map(|s| &s.words).any(|w| is_code_runner(command_name(w)));
    expands
        || globs
        || heredoc
        || statements.iter().map(|s| &s.words).any(|words| {
            words.iter().enumerate().any(|(i, w)| {
                let name = command_name(w);
                SOURCES.contains(&name)
                    || (name == "xargs" && words[i + 1..].iter().any(|w| is_code_runner(command_name(w))))
                    || (interpreter(name).is_some() && reads_program_from_stream(&words[i + 1..], name))
            })
        })
}

fn has_heredoc(text: &str) -> bool {
    text.match_indices("<<").any(|(at, _)| !text[at..].starts_with("<<<") && !text[..at].ends_with('<'))
}

fn interpreter(name: &str) -> Option<&'static str> {
    INTERPRETERS.iter().find(|(n, _)| *n == name).map(|(_, letters)| *letters)
}

fn is_code_runner(name: &str) -> bool {
    interpreter(name).is_some() || RUNNERS.contains(&name) || ALL_AFTER.contains(&name)
}

/// Whether an interpreter, given `rest`, reads its program from stdin or a
/// stream: no program option and no operand, `-s`, `-`, or `/dev/stdin`.
fn reads_program_from_stream(rest: &[Word], name: &str) -> bool {
    if program_word(rest, name).is_some() {
        return false;
    }
    let mut operands = rest.iter().map(|w| w.bare.as_str()).filter(|w| !w.starts_with(['-', '+']) || *w == "-");
    let stdin_option = rest.iter().take_while(|w| w.bare.starts_with('-')).any(|w| w.bare == "-s");
    stdin_option || operands.next().is_none_or(|op| op == "-" || op.starts_with("/dev/") || op.starts_with('<'))
}

/// The index in `rest` of the word an interpreter's program option takes:
/// the word after the first short option holding one of its letters (or
/// `--command`, `--eval`), skipping a `--`; options with arguments of their
/// own before it are passed over, not mistaken for the program.
fn program_word(rest: &[Word], name: &str) -> Option<usize> {
    let letters = interpreter(name).unwrap_or("c");
    let at = rest.iter().position(|w| {
        let o = w.bare.as_str();
        (o.starts_with('-') && !o.starts_with("--") && o[1..].chars().any(|c| letters.contains(c)))
            || matches!(o, "--command" | "--eval" | "--print")
    })?;
    let next = at + 1 + usize::from(rest.get(at + 1).is_some_and(|w| w.bare == "--"));
    (next < rest.len()).then_some(next)
}

/// One word of a statement: its text without quotes, and how many
/// placeholders it holds.
#[derive(Debug, Default)]
struct Word {
    bare: String,
    markers: usize,
}

/// One statement's words; `named` when its first word is a command's name
/// (not the rest of a statement after a `)`, nor arithmetic after `((`).
#[derive(Debug, Default)]
struct Statement {
    words: Vec<Word>,
    named: bool,
}

/// The statements of `text` (split at `;`, `&`, `|`, newlines and
/// parentheses outside quotes). Every marker lands in exactly one word, in
/// order.
fn statements(text: &str) -> Vec<Statement> {
    let mut out = vec![Statement { words: Vec::new(), named: true }];
    let mut word: Option<Word> = None;
    let (mut single, mut double, mut escaped) = (false, false, false);
    let mut prev = ' ';
    for c in text.chars() {
        let quoted = single || double || escaped;
        if !quoted && (c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`')) {
            if let (Some(w), Some(statement)) = (word.take(), out.last_mut()) {
                statement.words.push(w);
            }
            if c == '(' && prev == '(' {
                // `((` or `$((`: arithmetic, not a command.
                if let Some(statement) = out.last_mut() {
                    statement.named = false;
                }
            } else if c != ' ' && c != '\t' {
                // After `)` the outer statement goes on; `=(` is an array's values.
                let named = c != ')' && !(c == '(' && prev == '=');
                out.push(Statement { words: Vec::new(), named });
            }
            prev = c;
            continue;
        }
        prev = c;
        let w = word.get_or_insert_with(Word::default);
        if c == MARKER {
            w.markers += 1;
        } else if escaped {
            escaped = false;
            w.bare.push(c);
        } else if c == '\\' && !single {
            escaped = true;
        } else if c == '\'' && !double {
            single = !single;
        } else if c == '"' && !single {
            double = !double;
        } else {
            w.bare.push(c);
        }
    }
    if let (Some(w), Some(statement)) = (word, out.last_mut()) {
        statement.words.push(w);
    }
    out.retain(|s| !s.words.is_empty());
    out
}

fn command_name(word: &Word) -> &str {
    word.bare.rsplit('/').next().unwrap_or_default()
}

/// Marks the words of one statement that are parsed again as code.
fn mark_evaluated(words: &[Word], evaluated: &mut [bool], names: bool) {
    // The command's name itself: a value there chooses what runs.
    if names && let Some(first) = words.iter().position(|w| !is_assignment(w) && !PREFIXES.contains(&w.bare.as_str())) {
        evaluated[first] |= words[first].markers > 0;
    }
    for (i, word) in words.iter().enumerate() {
        let name = command_name(word);
        let rest = &words[i + 1..];
        let mut mark = |at: usize| {
            if let Some(e) = evaluated.get_mut(i + 1 + at) {
                *e = true;
            }
        };
        if ALL_AFTER.contains(&name) {
            (0..rest.len()).for_each(&mut mark);
            return;
        }
        let option_arg = |flags: &[&str]| rest.iter().position(|w| flags.contains(&w.bare.as_str())).map(|at| at + 1);
        // `"$SHELL" -c`, `$s -c`: a shell named by a variable.
        let variable_shell = name.starts_with('$') && rest.first().is_some_and(|w| w.bare.starts_with("-c"));
        let program: Vec<usize> = if interpreter(name).is_some() || RUNNERS.contains(&name) || variable_shell {
            program_word(rest, if variable_shell { "sh" } else { name }).into_iter().collect()
        } else if matches!(name, "awk" | "gawk" | "mawk" | "nawk" | "sed") {
            script_operand(rest, name == "sed")
        } else if name == "env" {
            option_arg(&["-S", "--split-string"]).into_iter().collect()
        } else if matches!(name, "mapfile" | "readarray") {
            option_arg(&["-C"]).into_iter().collect()
        } else {
            Vec::new()
        };
        for at in program {
            mark(at);
        }
    }
}

fn is_assignment(word: &Word) -> bool {
    word.bare
        .split_once('=')
        .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// The words of `rest` that are an awk program or a sed script: those after
/// `-e`/`--expression` (and gawk's `--source`), or else the first operand,
/// passing over options that take a word of their own (`-F :`, `-v x=1`).
/// A program read from a file (`-f`) leaves none.
fn script_operand(rest: &[Word], sed: bool) -> Vec<usize> {
    let mut named = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let o = rest[i].bare.as_str();
        if o == "--" {
            i += 1;
            break;
        }
        if !o.starts_with('-') || o == "-" {
            break;
        }
        match o {
            "-f" | "--file" => return Vec::new(),
            "-e" | "--expression" | "--source" => {
                named.push(i + 1);
                i += 2;
            }
            "-l" if sed => i += 2,
            "-F" | "-v" | "-i" | "-l" | "-W" if !sed => i += 2,
            _ => i += 1,
        }
    }
    if named.is_empty() && i < rest.len() { vec![i] } else { named }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::template::Syntax;

    fn evaluated(command: &str) -> Vec<String> {
        evaluated_params(&Template::parse(command, Syntax::Params).unwrap()).into_iter().collect()
    }

    // See: the hostile-input issue's review (`sh -c 'echo {{n}}'` with
    // `n=x; touch PWNED` ran the touch).
    #[test]
    fn text_another_shell_parses_is_found() {
        for command in [
            "sh -c 'echo {{n}}'",
            "bash -lc \"echo {{n}}\"",
            "/bin/bash -o pipefail -c 'echo {{n}} | wc'",
            "eval echo {{n}}",
            "true; eval \"x={{n}}\"",
            "ssh web1 ls {{n}}",
            "ssh -p 22 web1 'rm -rf /srv/{{n}}'",
            "su deploy -c 'echo {{n}}'",
            "sudo -u app sh -c 'echo {{n}}' && echo done",
            "find . -exec sh -c 'echo {{n}} \"$1\"' sh {} \\;",
            "trap 'echo {{n}}' EXIT",
            "flock /tmp/l -c 'echo {{n}}'",
            "script -qc 'echo {{n}}' /dev/null",
            "watch echo {{n}}",
            "python3 -c 'print({{n}})'",
            "perl -ne 'print {{n}}'",
            "awk '{ print {{n}} }' file",
            "sed -i 's/a/{{n}}/' file",
            "sed -e 's/a/{{n}}/' file",
            // The third review: options passed over, letters and forms missed.
            "sh -c -- {{n}}",
            "python3 -W ignore -c 'print(\"{{n}}\")'",
            "perl -I lib -e {{n}}",
            "awk -F : '$1 == \"{{n}}\" {print $3}' /etc/passwd",
            "awk -v lim=3 '$3 > lim && $1 == \"{{n}}\"' f",
            "perl -E {{n}}",
            "node -p {{n}}",
            "\"$SHELL\" -c {{n}}",
            "s=sh; $s -c {{n}}",
            "env -S {{n}}",
            "mapfile -C {{n}} -c 1 a <<< x",
            "{{n}} --version",
            "exec {{n}}",
        ] {
            assert_eq!(evaluated(command), ["n"], "{command}");
        }
    }

    // See: the second review (a pipe, a here-string, `source`, `@P` and
    // `(e)` ran the value): where the code is a stream, every placeholder counts.
    #[test]
    fn code_read_from_a_stream_or_a_variable_counts_every_placeholder() {
        for command in [
            "echo \"echo {{n}}\" | sh",
            "bash <<< \"echo {{n}}\"",
            "printf '%s' {{n}} | bash -s",
            "source <(echo {{n}})",
            ". ./env-{{n}}.sh",
            "x={{n}}; echo \"${x@P}\"",
            "x={{n}}; echo ${(e)x}",
            "echo {{n}} | python3",
            "echo {{n}} | perl",
            "echo {{n}} | sh /dev/stdin",
            "bash /dev/stdin <<< {{n}}",
            "python3 <<EOF\nprint({{n}})\nEOF",
            "ssh backup@host <<EOF\necho {{n}}\nEOF",
            "echo {{n}} | xargs -I{} sh -c \"echo {}\"",
            "builtin source s {{n}}",
            "command . ./s {{n}}",
            "x={{n}}; ls -d $~x",
            "setopt globsubst; ls {{n}}",
        ] {
            assert_eq!(evaluated(command), ["n"], "{command}");
        }
    }

    #[test]
    fn values_passed_as_arguments_are_left_alone() {
        for command in [
            "echo {{n}}",
            "sh -c 'echo \"$1\"' sh {{n}}",
            "bash script.sh {{n}}",
            "sh -e ./deploy {{n}}",
            "echo 'sh -c {{n}}'",
            "printf '%s' {{n}}; sh -c 'echo hi'",
            "echo {{n}} | sh -c 'cat'",
            "python3 script.py {{n}}",
            "awk -v n=1 '{ print $1 }' {{n}}",
            "sed -e 's/a/b/' {{n}}",
            "perl -e 'print @ARGV' {{n}}",
            "flock /tmp/{{n}}.lock ./run",
            "bash ./deploy.sh {{n}} < input",
            "awk -F : '{ print $1 }' {{n}}",
            "python3 -W ignore script.py {{n}}",
            "cat <<EOF > out\n{{n}}\nEOF",
            "./bin/send-welcome --user {{n}}",
            "X=1 deploy {{n}}",
            "arr=({{n}} b); echo $(( 1 + 2 )) {{n}}",
            "(cd /srv && ./run {{n}})",
        ] {
            assert!(evaluated(command).is_empty(), "{command}");
        }
    }
}
