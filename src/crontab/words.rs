//! Just enough of the shell's grammar to name a crontab command: the words of
//! each simple command with quotes removed, redirections and comments left
//! out, and expansions (`$VAR`, `$(...)`, backquotes) marked, since their
//! text is not what runs. It is not a shell parser: it never fails, and what
//! it cannot read it skips. Choosing a name from the words is `name.rs`'s.

use std::iter::Peekable;
use std::str::Chars;

/// Stands in for an expansion inside a word's text, so that a path such as
/// `$HOME/bin/backup.sh` keeps its shape (`$/bin/backup.sh`).
pub(super) const EXPANSION: char = '$';

/// One word of a command, quotes removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Word {
    pub(super) text: String,
    /// The word holds an expansion: its value is only known when the job runs.
    pub(super) dynamic: bool,
}

/// A simple command: the words between `;`, `&&`, `||`, `&`, `|` and parentheses.
#[derive(Debug, Default)]
pub(super) struct Simple {
    pub(super) words: Vec<Word>,
    /// Reads the output of the command before it (`b` in `a | b`).
    pub(super) piped: bool,
}

/// The simple commands of `text`, in order.
pub(super) fn commands(text: &str) -> Vec<Simple> {
    let mut lexer = Lexer {
        chars: text.chars().peekable(),
        out: Vec::new(),
        current: Simple::default(),
        word: None,
        target_pending: false,
    };
    lexer.run();
    lexer.end_command(false);
    lexer.out
}

struct Lexer<'a> {
    chars: Peekable<Chars<'a>>,
    out: Vec<Simple>,
    current: Simple,
    word: Option<Word>,
    /// A redirection waits for its target (`> FILE`), which is not a word of the command.
    target_pending: bool,
}

impl Lexer<'_> {
    fn run(&mut self) {
        while let Some(c) = self.chars.next() {
            match c {
                ' ' | '\t' | '\r' => self.end_word(),
                '\n' | ';' | '(' | ')' => self.end_command(false),
                '&' if self.chars.peek() == Some(&'>') => self.redirect(),
                '&' => {
                    self.chars.next_if_eq(&'&');
                    self.end_command(false);
                }
                '|' => {
                    let or = self.chars.next_if_eq(&'|').is_some();
                    self.chars.next_if_eq(&'&');
                    self.end_command(!or);
                }
                '<' | '>' if self.chars.peek() == Some(&'(') => {
                    // Process substitution: a file name only known when it runs.
                    self.chars.next();
                    self.skip_to(')');
                    self.expansion();
                }
                '<' | '>' => self.redirect(),
                '#' if self.word.is_none() => break,
                '\'' => self.single_quoted(),
                '"' => self.double_quoted(),
                '\\' => {
                    if let Some(c) = self.chars.next() {
                        self.push(c);
                    }
                }
                '`' => {
                    self.skip_backquoted();
                    self.expansion();
                }
                '$' => self.dollar(),
                c => self.push(c),
            }
        }
    }

    fn word(&mut self) -> &mut Word {
        self.word.get_or_insert_with(Word::default)
    }

    fn push(&mut self, c: char) {
        self.word().text.push(c);
    }

    fn expansion(&mut self) {
        let word = self.word();
        word.text.push(EXPANSION);
        word.dynamic = true;
    }

    fn end_word(&mut self) {
        if let Some(word) = self.word.take() {
            if std::mem::take(&mut self.target_pending) {
                return;
            }
            self.current.words.push(word);
        }
    }

    fn end_command(&mut self, pipe_follows: bool) {
        self.end_word();
        self.target_pending = false;
        let done = std::mem::take(&mut self.current);
        if !done.words.is_empty() {
            self.out.push(done);
        }
        self.current.piped = pipe_follows;
    }

    /// `>`, `>>`, `2>`, `&>`, `<`, `<<<`, `2>&1`, `>&-`: the operator, and its
    /// target unless it names a descriptor.
    fn redirect(&mut self) {
        // A word of digits right before the operator is the descriptor (`2>`).
        if self.word.as_ref().is_some_and(|w| !w.text.is_empty() && w.text.chars().all(|c| c.is_ascii_digit())) {
            self.word = None;
        }
        self.end_word();
        let mut last = '>';
        while let Some(c) = self.chars.next_if(|c| matches!(c, '<' | '>' | '&')) {
            last = c;
        }
        self.chars.next_if_eq(&'|');
        let descriptor = last == '&' && self.chars.next_if(|c| c.is_ascii_digit() || *c == '-').is_some();
        while self.chars.next_if(char::is_ascii_digit).is_some() {}
        self.target_pending = !descriptor;
    }

    fn single_quoted(&mut self) {
        self.word();
        for c in self.chars.by_ref() {
            if c == '\'' {
                return;
            }
            self.word.get_or_insert_with(Word::default).text.push(c);
        }
    }

    fn double_quoted(&mut self) {
        self.word();
        while let Some(c) = self.chars.next() {
            match c {
                '"' => return,
                '\\' => match self.chars.next() {
                    Some(c @ ('"' | '\\' | '$' | '`')) => self.push(c),
                    Some(c) => {
                        self.push('\\');
                        self.push(c);
                    }
                    None => return,
                },
                '`' => {
                    self.skip_backquoted();
                    self.expansion();
                }
                '$' => self.dollar(),
                c => self.push(c),
            }
        }
    }

    /// `$NAME`, `${...}`, `$(...)`, `$((...))`, `$1`, `$?`; a `$` before
    /// anything else is a plain `$`.
    fn dollar(&mut self) {
        match self.chars.peek().copied() {
            Some('(') => {
                self.chars.next();
                self.skip_to(')');
            }
            Some('{') => {
                self.chars.next();
                self.skip_to('}');
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                while self.chars.next_if(|c| c.is_ascii_alphanumeric() || *c == '_').is_some() {}
            }
            Some(c) if c.is_ascii_digit() || "?#@*!$-".contains(c) => {
                self.chars.next();
            }
            _ => return self.push('$'),
        }
        self.expansion();
    }

    /// Past the `close` that matches an opening already read, counting nested
    /// pairs and stepping over quoted text.
    fn skip_to(&mut self, close: char) {
        let open = if close == ')' { '(' } else { '{' };
        let mut depth = 1usize;
        while let Some(c) = self.chars.next() {
            match c {
                '\\' => {
                    self.chars.next();
                }
                '\'' | '"' => {
                    for q in self.chars.by_ref() {
                        if q == c {
                            break;
                        }
                    }
                }
                c if c == open => depth += 1,
                c if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn skip_backquoted(&mut self) {
        while let Some(c) = self.chars.next() {
            match c {
                '\\' => {
                    self.chars.next();
                }
                '`' => return,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(command: &str) -> Vec<(Vec<String>, bool)> {
        commands(command).into_iter().map(|s| (s.words.into_iter().map(|w| w.text).collect(), s.piped)).collect()
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn redirections_pipes_and_expansions_are_told_apart() {
        assert_eq!(
            texts("pg_dump app | gzip > /backups/app-$(date +%F).sql.gz 2>&1"),
            [(words(&["pg_dump", "app"]), false), (words(&["gzip"]), true)]
        );
        assert_eq!(
            texts("cd /srv/app && python3 manage.py clearsessions >/dev/null 2>&1; echo 'a b'"),
            [
                (words(&["cd", "/srv/app"]), false),
                (words(&["python3", "manage.py", "clearsessions"]), false),
                (words(&["echo", "a b"]), false)
            ]
        );
        assert_eq!(texts("x &>>log <in || y # a comment"), [(words(&["x"]), false), (words(&["y"]), false)]);
        let home = commands("\"$HOME\"/bin/run.sh `hostname` ${X:-a}b");
        let dynamic: Vec<(&str, bool)> = home[0].words.iter().map(|w| (w.text.as_str(), w.dynamic)).collect();
        assert_eq!(dynamic, [("$/bin/run.sh", true), ("$", true), ("$b", true)]);
    }

    #[test]
    fn unbalanced_input_ends_quietly() {
        for text in ["'", "\"", "$(", "${", "`", "\\", ">", "2>&", "a $((1 +", "\"$(\"'", "(((", "))"] {
            let _ = commands(text);
        }
    }
}
