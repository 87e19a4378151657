//! Text for people's terminals. A job's output, a parameter, an argument, a
//! host name or an error message quoting any of them can hold control
//! characters that move the cursor, set the terminal's title, clear the
//! screen or forge whole lines (`\r`, `\e[...`, `\e]0;...\a`), and Unicode
//! controls that reorder what is shown. Text output shows them as escapes;
//! `--json` carries them verbatim.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` on one line: every control character escaped, newlines too.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` as lines: control characters escaped, but newlines and tabs kept.
pub fn lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// Arguments as a POSIX shell would need them typed, so that their
/// boundaries show (`a 'b c' ''`): each quoted unless it is plain.
pub fn shell_words(args: &[String]) -> String {
    let plain = |a: &str| !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
    args.iter()
        .map(|a| if plain(a) { a.clone() } else { format!("'{}'", a.replace('\'', "'\\''")) })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bytes that should be UTF-8 text but may not be (an argument, a file
/// name), on one line: bytes that are not UTF-8 shown as `\xNN`.
pub fn bytes_one_line(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(&one_line(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

fn escape(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| !(keep_lines && (c == '\n' || c == '\t')) && is_unsafe(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{1b}' => out.push_str("\\e"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// C0 and C1 controls, DEL, and the Unicode marks that reorder or hide text
/// (bidirectional overrides and isolates, zero-width and line separators).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
        )
}

/// A run time in a few characters: <1ms, 850ms, 12.5s, 3m 20s.
pub fn short_duration(seconds: f64) -> String {
    if seconds < 0.001 {
        "<1ms".into()
    } else if seconds < 1.0 {
        format!("{:.0}ms", seconds * 1000.0)
    } else if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        humantime::format_duration(std::time::Duration::from_secs(seconds.round() as u64)).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_shown_as_a_shell_would_need_them() {
        let args: Vec<String> = ["plain", "two words", "", "it's", "a=b,c/d"].iter().map(ToString::to_string).collect();
        assert_eq!(shell_words(&args), r"plain 'two words' '' 'it'\''s' a=b,c/d");
    }

    #[test]
    fn terminal_controls_are_shown_not_obeyed() {
        let hostile = "x=\u{1b}]0;TITLE\u{7}\u{1b}[2J...\r\nfake: line";
        assert_eq!(one_line(hostile), "x=\\e]0;TITLE\\x07\\e[2J...\\r\\nfake: line");
        assert_eq!(lines(hostile), "x=\\e]0;TITLE\\x07\\e[2J...\\r\nfake: line");
        assert_eq!(one_line("evil\u{202e}txt.exe\u{9b}"), "evil\\u{202e}txt.exe\\x9b");
    }

    #[test]
    fn plain_text_is_left_alone() {
        assert!(matches!(one_line("héllo wörld 日本"), Cow::Borrowed(_)));
        assert!(matches!(lines("a\n\tb\n"), Cow::Borrowed(_)));
        assert_eq!(one_line("a\tb"), "a\\tb");
    }
}
