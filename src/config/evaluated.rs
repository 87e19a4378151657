//! Where a placeholder stands in text that another shell evaluates:
//! `sh -c '... {{n}} ...'`, `eval ... {{n}}`, `ssh host ... {{n}}`, `su -c
//! '...'`. The outer shell expands the value into that text, and the inner
//! one parses it: the value becomes code, as the command asks, and no
//! quoting by taskq can prevent it. `check` refuses an untyped parameter
//! there and names the safe form, the value as an argument: `sh -c 'echo
//! "$1"' sh {{n}}`.
//!
//! Like the arithmetic scan, this one is coarse on purpose (a statement's
//! words, quotes respected, options read loosely): a false alarm only asks
//! for a type or a pattern.

use std::collections::BTreeSet;

use super::contexts::{MARKER, marked};
use super::template::Template;

/// Shells whose `-c` takes a script.
const SHELLS: [&str; 7] = ["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"];

/// The parameters a shell command places in text another shell evaluates.
pub(super) fn evaluated_params(command: &Template) -> BTreeSet<String> {
    let (text, params) = marked(command);
    let mut names = params.into_iter().map(|(_, name)| name);
    let mut out = BTreeSet::new();
    // Markers appear in `text` in the order of `params`.
    for words in statements(&text) {
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

/// Marks the words of one statement that another shell will parse.
fn mark_evaluated(words: &[Word], evaluated: &mut [bool]) {
    let mut i = 0;
    while i < words.len() {
        let name = words[i].bare.rsplit('/').next().unwrap_or_default();
        match name {
            // All that follows is one script, here or on the remote host.
            "eval" | "ssh" => {
                evaluated[i + 1..].iter_mut().for_each(|e| *e = true);
                return;
            }
            _ if SHELLS.contains(&name) => {
                // Options, then with -c (alone or among letters) the script.
                let mut j = i + 1;
                let mut script = false;
                while j < words.len() && words[j].bare.starts_with(['-', '+']) && words[j].bare != "--" {
                    let option = &words[j].bare;
                    script |= !option.starts_with("--") && option.starts_with('-') && option.contains('c');
                    // `-o pipefail`: the option's argument is not the script.
                    j += if matches!(option.as_str(), "-o" | "+o" | "-O" | "+O") { 2 } else { 1 };
                }
                if script && j < words.len() {
                    evaluated[j] = true;
                }
                i = j + 1;
                continue;
            }
            "su" | "runuser" => {
                if let Some(c) = words[i + 1..].iter().position(|w| w.bare == "-c" || w.bare == "--command") {
                    let script = i + 1 + c + 1;
                    if script < words.len() {
                        evaluated[script] = true;
                    }
                }
                return;
            }
            _ => {}
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
        ] {
            assert!(evaluated(command).is_empty(), "{command}");
        }
    }
}
