//! Where a placeholder stands in text that is parsed again as code: a
//! shell's script (`sh -c '... {{n}} ...'`, `eval`, `ssh host ...`, `su
//! -c`, `trap`, `flock -c`, `watch`, a script piped or fed to a shell,
//! `source`), another interpreter's program (`python3 -c`, `perl -e`,
//! `awk '...'`, a `sed` script), or `${x@P}` and zsh's `${(e)x}`. The outer
//! shell expands the value into that text and the inner parser reads it:
//! the value becomes code, and no quoting by taskq can prevent it. `check`
//! refuses an untyped parameter there and names the safe form, the value as
//! an argument: `sh -c 'echo "$1"' sh {{n}}`.
//!
//! Like the arithmetic scan, this one is coarse on purpose (a statement's
//! words, quotes respected, options read loosely; where the code is not one
//! word, every placeholder of the command counts): a false alarm only asks
//! for a type or a pattern.

use std::collections::BTreeSet;

use super::contexts::{MARKER, marked};
use super::template::Template;

/// Programs whose option letter takes a program text: `sh -c`, `perl -e`.
const INTERPRETERS: [(&str, char); 15] = [
    ("sh", 'c'),
    ("bash", 'c'),
    ("dash", 'c'),
    ("zsh", 'c'),
    ("ksh", 'c'),
    ("ash", 'c'),
    ("mksh", 'c'),
    ("python", 'c'),
    ("python3", 'c'),
    ("perl", 'e'),
    ("ruby", 'e'),
    ("node", 'e'),
    ("php", 'r'),
    ("flock", 'c'),
    ("script", 'c'),
];
/// Shells, which read a script from stdin when given none.
const SHELLS: [&str; 7] = ["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"];
/// Programs whose first operand is a program text.
const FIRST_OPERAND: [&str; 5] = ["awk", "gawk", "mawk", "sed", "trap"];
/// Commands after which everything is code, here or on another host.
const ALL_AFTER: [&str; 4] = ["eval", "ssh", "watch", "parallel"];
/// Commands that read code from a file or stream the command may build.
const SOURCES: [&str; 2] = ["source", "."];

/// The parameters a shell command places in text parsed again as code.
pub(super) fn evaluated_params(command: &Template) -> BTreeSet<String> {
    let (text, params) = marked(command);
    let statements = statements(&text);
    // `${x@P}` and `${(e)x}` run what a variable holds, whichever it is.
    let expands = text.contains("@P}")
        || text
            .match_indices("${(")
            .any(|(at, _)| text[at + 3..].split(')').next().is_some_and(|flags| flags.contains('e')));
    if expands || statements.iter().any(|words| reads_code_stream(words)) {
        return params.into_iter().map(|(_, name)| name).collect();
    }
    let mut names = params.into_iter().map(|(_, name)| name);
    let mut out = BTreeSet::new();
    // Markers appear in `text`, and so in the words, in the order of `params`.
    for words in statements {
        let mut evaluated = vec![false; words.len()];
        mark_evaluated(&words, &mut evaluated);
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

/// One word of a statement: its text without quotes, and how many
/// placeholders it holds.
#[derive(Debug, Default)]
struct Word {
    bare: String,
    markers: usize,
}

/// The statements of `text` (split at `;`, `&`, `|`, newlines and
/// parentheses outside quotes), each as its words. Every marker lands in
/// exactly one word, in order.
fn statements(text: &str) -> Vec<Vec<Word>> {
    let mut out = vec![Vec::new()];
    let mut word: Option<Word> = None;
    let (mut single, mut double, mut escaped) = (false, false, false);
    for c in text.chars() {
        let quoted = single || double || escaped;
        if !quoted && (c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`')) {
            if let (Some(w), Some(statement)) = (word.take(), out.last_mut()) {
                statement.push(w);
            }
            if c != ' ' && c != '\t' {
                out.push(Vec::new());
            }
            continue;
        }
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
        statement.push(w);
    }
    out.retain(|s| !s.is_empty());
    out
}

fn command_name(word: &Word) -> &str {
    word.bare.rsplit('/').next().unwrap_or_default()
}

/// Whether the statement runs code from a stream or file the command may
/// build: `... | sh`, `bash <<< "..."`, `sh -s`, `source <(...)`, `. file`.
fn reads_code_stream(words: &[Word]) -> bool {
    words.iter().enumerate().any(|(i, word)| {
        let name = command_name(word);
        if SOURCES.contains(&name) && i == 0 {
            return true;
        }
        if !SHELLS.contains(&name) {
            return false;
        }
        let mut rest = words[i + 1..].iter().map(|w| w.bare.as_str()).skip_while(|w| w.starts_with(['-', '+']));
        let options = &words[i + 1..];
        let stdin = options.iter().take_while(|w| w.bare.starts_with('-')).any(|w| w.bare == "-s");
        stdin || rest.next().is_none_or(|operand| operand.starts_with('<'))
    })
}

/// Marks the words of one statement that are parsed again as code.
fn mark_evaluated(words: &[Word], evaluated: &mut [bool]) {
    let mut i = 0;
    while i < words.len() {
        let name = command_name(&words[i]);
        if ALL_AFTER.contains(&name) {
            evaluated[i + 1..].iter_mut().for_each(|e| *e = true);
            return;
        }
        if let Some((_, letter)) = INTERPRETERS.iter().find(|(n, _)| *n == name) {
            // Options, then with the letter (alone or among others) the program.
            let mut j = i + 1;
            let mut program = false;
            while j < words.len() && words[j].bare.starts_with(['-', '+']) && words[j].bare != "--" {
                let option = &words[j].bare;
                let long = option.starts_with("--");
                program |= (!long && option.starts_with('-') && option.contains(*letter))
                    || option == "--command"
                    || option == "--eval";
                // `-o pipefail`: the option's argument is not the program.
                j += if matches!(option.as_str(), "-o" | "+o" | "-O" | "+O") { 2 } else { 1 };
                if program {
                    break;
                }
            }
            // flock and script name a lock or a log file before `-c`.
            if !program && matches!(name, "flock" | "script") {
                let at = words[i + 1..].iter().position(|w| matches!(w.bare.as_str(), "-c" | "--command"));
                if let Some(at) = at {
                    j = i + 1 + at + 1;
                    program = true;
                }
            }
            if program && j < words.len() {
                evaluated[j] = true;
            }
            i = j + 1;
            continue;
        }
        if FIRST_OPERAND.contains(&name) {
            // `sed -e SCRIPT` names it; otherwise the first operand is it.
            let mut j = i + 1;
            while j < words.len() && words[j].bare.starts_with('-') {
                if matches!(words[j].bare.as_str(), "-e" | "--expression") && j + 1 < words.len() {
                    evaluated[j + 1] = true;
                    j += 1;
                }
                j += 1;
            }
            if j < words.len() && !evaluated[i + 1..j].contains(&true) {
                evaluated[j] = true;
            }
            return;
        }
        if matches!(name, "su" | "runuser") {
            if let Some(c) = words[i + 1..].iter().position(|w| w.bare == "-c" || w.bare == "--command") {
                let script = i + 1 + c + 1;
                if script < words.len() {
                    evaluated[script] = true;
                }
            }
            return;
        }
        i += 1;
    }
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
        ] {
            assert!(evaluated(command).is_empty(), "{command}");
        }
    }
}
