//! Where a placeholder stands, for the two places no encoding can make a
//! value safe:
//!
//! - **Shell arithmetic.** bash, zsh and ksh evaluate a variable's *value*
//!   as an arithmetic expression in `$(( ))`, `(( ))`, `$[ ]`, `[[ ... -eq
//!   ... ]]`, array subscripts, `${s:offset}`, `let` and `declare -i`, and an
//!   expression may hold an array subscript that runs a command
//!   (`a[$(touch PWNED)]`). Quoting cannot help. `check` refuses a
//!   parameter of any type but `int` there.
//! - **Whole URL path segments.** `.` and `..` are unreserved, so no
//!   percent-encoding changes them, and URL parsers resolve them (the WHATWG
//!   standard treats `%2e%2e` alike): `/tenants/{{t}}/items` with `t=..`
//!   reaches another resource. Such values are refused.
//!
//! The shell scan is deliberately coarse: quotes are ignored (a nested
//! `bash -c '...'` evaluates what the outer quotes hide), and a false alarm
//! only asks for a type.

use std::collections::BTreeSet;

use super::template::{Piece, Template};

/// What the scanner is inside of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    /// `$((`, `((`, `$[`: arithmetic.
    Arith,
    /// `[[`: a conditional, arithmetic when it compares with `-eq` & co.
    Cond,
    /// `name[`: an array subscript, arithmetic in bash.
    Subscript,
    /// `[` of anything else.
    Bracket,
    /// `${`.
    Brace,
    /// `${name:offset`: a substring's offset or length, arithmetic.
    BraceArith,
}

const ARITH_COMPARISONS: [&str; 6] = ["-eq", "-ne", "-lt", "-le", "-gt", "-ge"];

/// The parameters a shell command uses in arithmetic contexts.
pub(super) fn arithmetic_params(command: &Template) -> BTreeSet<String> {
    let (text, params) = marked(command);
    params.into_iter().filter(|(at, _)| in_arithmetic(&text, *at)).map(|(_, name)| name).collect()
}

/// A shell command's text with each parameter as [`MARKER`], which no shell
/// syntax contains, and where each one is.
pub(super) fn marked(command: &Template) -> (String, Vec<(usize, String)>) {
    let mut text = String::new();
    let mut params = Vec::new();
    for piece in command.pieces() {
        match piece {
            Piece::Literal(s) => text.push_str(s),
            Piece::Param(name) => {
                params.push((text.len(), name.to_string()));
                text.push(MARKER);
            }
            Piece::Env(_) => text.push('X'),
        }
    }
    (text, params)
}

pub(super) const MARKER: char = '\u{0}';

fn in_arithmetic(text: &str, at: usize) -> bool {
    let (before, after) = text.split_at(at);
    let mut stack: Vec<(Open, usize)> = Vec::new();
    let bytes = before.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &before[i..];
        let step = if rest.starts_with("$((") || rest.starts_with("((") {
            stack.push((Open::Arith, i));
            if rest.starts_with('$') { 3 } else { 2 }
        } else if rest.starts_with("))") && stack.last().is_some_and(|(o, _)| *o == Open::Arith) {
            stack.pop();
            2
        } else if rest.starts_with("$[") {
            stack.push((Open::Arith, i));
            2
        } else if rest.starts_with("[[") {
            stack.push((Open::Cond, i));
            2
        } else if rest.starts_with("]]") && stack.last().is_some_and(|(o, _)| *o == Open::Cond) {
            stack.pop();
            2
        } else if rest.starts_with("${") {
            stack.push((Open::Brace, i));
            2
        } else if rest.starts_with('[') {
            // A subscript follows a name (`arr[`), not digits or an escape
            // (`\033[31m`, `\e[0m` in printf and echo -e text).
            let start = before[..i].trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_').len();
            let name = &before[start..i];
            let subscript =
                name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && !before[..start].ends_with('\\');
            stack.push((if subscript { Open::Subscript } else { Open::Bracket }, i));
            1
        } else if rest.starts_with(']') {
            if stack.last().is_some_and(|(o, _)| matches!(o, Open::Subscript | Open::Bracket | Open::Arith)) {
                stack.pop();
            }
            1
        } else if rest.starts_with('}') {
            if stack.last().is_some_and(|(o, _)| matches!(o, Open::Brace | Open::BraceArith)) {
                stack.pop();
            }
            1
        } else if let Some(after) = rest.strip_prefix(':') {
            // `${name:offset}`, but not `${name:-default}` and its kin.
            if let Some(top) = stack.last_mut()
                && top.0 == Open::Brace
                && !after.starts_with(['-', '=', '+', '?'])
            {
                top.0 = Open::BraceArith;
            }
            1
        } else {
            rest.chars().next().map_or(1, char::len_utf8)
        };
        i += step;
    }
    let arithmetic = stack.iter().any(|(o, _)| matches!(o, Open::Arith | Open::Subscript | Open::BraceArith));
    let conditional = stack.iter().rev().find(|(o, _)| *o == Open::Cond).is_some_and(|(_, start)| {
        let end = after.find("]]").map_or(text.len(), |e| before.len() + e);
        let extent = &text[*start..end];
        extent.split_whitespace().any(|w| ARITH_COMPARISONS.contains(&w))
    });
    arithmetic || conditional || in_integer_statement(before)
}

/// Whether the statement the marker is in is `let ...` or declares integers
/// (`declare -i`, `local -i`, `typeset -i`, `readonly -i`).
fn in_integer_statement(before: &str) -> bool {
    let start = before.rfind([';', '\n', '&', '|', '(', '{', '`']).map_or(0, |i| i + 1);
    let mut words = before[start..].split_whitespace();
    match words.next() {
        Some("let") => true,
        Some("declare" | "local" | "typeset" | "readonly" | "export") => {
            words.take_while(|w| w.starts_with('-')).any(|w| w.contains('i'))
        }
        _ => false,
    }
}

/// The parameters that make up a whole path segment of a URL template, as
/// groups (a segment may be several placeholders side by side): a value of
/// `.` or `..` for the group would move the URL.
pub(super) fn whole_path_segments(url: &Template) -> Vec<Vec<String>> {
    let mut groups = Vec::new();
    let mut in_path = false;
    let mut slashes_seen = 0;
    // The current segment's placeholders, and whether literal text joined them.
    let mut current: Vec<String> = Vec::new();
    let mut mixed = false;
    let mut close = |current: &mut Vec<String>, mixed: &mut bool| {
        if !current.is_empty() && !*mixed {
            groups.push(std::mem::take(current));
        }
        current.clear();
        *mixed = false;
    };
    'pieces: for piece in url.pieces() {
        match piece {
            Piece::Literal(s) => {
                for c in s.chars() {
                    if !in_path {
                        // scheme://authority/ : the path starts at the third slash.
                        if c == '/' {
                            slashes_seen += 1;
                            in_path = slashes_seen == 3;
                        }
                        continue;
                    }
                    match c {
                        '/' => close(&mut current, &mut mixed),
                        '?' | '#' => {
                            close(&mut current, &mut mixed);
                            break 'pieces;
                        }
                        _ => mixed = true,
                    }
                }
            }
            Piece::Param(name) if in_path => current.push(name.to_string()),
            _ => {
                if in_path {
                    mixed = true;
                }
            }
        }
    }
    if in_path {
        close(&mut current, &mut mixed);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::template::Syntax;

    fn arith(command: &str) -> Vec<String> {
        arithmetic_params(&Template::parse(command, Syntax::Params).unwrap()).into_iter().collect()
    }

    #[test]
    fn arithmetic_contexts_are_found() {
        for command in [
            "echo $(( {{n}} + 1 ))",
            "(( {{n}} > 1 )) && echo big",
            "[[ {{n}} -eq 1 ]]",
            "[[ $x -lt 2 && {{n}} == 3 ]]",
            "echo ${arr[{{n}}]}",
            "arr[{{n}}]=1",
            "let x={{n}}+1",
            "x=1; declare -i v={{n}}",
            "echo ${s:{{n}}:2}",
            "echo $[ {{n}} ]",
            "bash -c 'echo $(( {{n}} ))'",
        ] {
            assert_eq!(arith(command), ["n"], "{command}");
        }
    }

    #[test]
    fn other_contexts_are_left_alone() {
        for command in [
            "echo {{n}}",
            "[[ {{n}} == a ]] && echo yes",
            "echo ${x:-{{n}}}",
            "test -f {{n}}",
            "[ {{n}} = y ]",
            "echo $(( 1 + 2 )) {{n}}",
            "let x=1; echo {{n}}",
            "declare -r v={{n}}",
            // Escapes are not subscripts (a review found every later {{x}} flagged).
            r"printf '\033[31m%s\033[0m' {{n}}",
            r"echo -e '\e[1m' {{n}}",
            "echo 2[ {{n}}",
        ] {
            assert!(arith(command).is_empty(), "{command}");
        }
    }

    fn segments(url: &str) -> Vec<Vec<String>> {
        whole_path_segments(&Template::parse(url, Syntax::ParamsAndEnv).unwrap())
    }

    #[test]
    fn whole_path_segments_are_found() {
        assert_eq!(segments("https://h/api/tenants/{{t}}/items/{{i}}"), [vec!["t"], vec!["i"]]);
        assert_eq!(segments("https://h/{{a}}{{b}}/x"), [vec!["a", "b"]]);
        assert!(segments("https://h/items/v{{i}}/x?q={{q}}").is_empty(), "part of a segment, or the query");
        assert!(segments("https://{{host}}/x").is_empty(), "the authority is not the path");
    }
}
