//! Writing man(7) sections from the light markup the page tables use, with
//! the `roff` crate doing the escaping. The markup, chosen to read well in
//! Rust source:
//!
//! - blocks are separated by blank lines; a plain block is a paragraph;
//! - a block whose lines are all indented by four spaces is shown as it is
//!   (a command line, a piece of TOML);
//! - a line starting `- ` starts a bullet item (its next lines, indented by
//!   two spaces, continue it);
//! - `` `text` `` is bold (what is typed: commands, keys, values), `*TEXT*`
//!   italic (what stands for something: *FILE*, *NAME*).

use clap_mangen::roff::{Inline, Roff, bold, italic, roman};

/// What `roff` writes before every rendering: defines `\*(Aq`, which its
/// apostrophes use. A page needs it once, at the top.
fn preamble() -> String {
    Roff::new().render()
}

/// `rendered` without the preamble, to append to a page that has one.
pub(super) fn without_preamble(rendered: &[u8]) -> &[u8] {
    let preamble = preamble();
    rendered.strip_prefix(preamble.as_bytes()).unwrap_or(rendered)
}

/// Where a block is written: at the left margin of a section, or in the
/// body of a tagged item (`.TP`), whose later paragraphs keep its indent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Section,
    Item,
}

/// Sections of a man page under construction.
pub(super) struct Doc {
    roff: Roff,
    /// A heading was just written: a paragraph macro there is redundant
    /// (mandoc warns about it).
    after_heading: bool,
}

impl Doc {
    pub(super) fn new() -> Doc {
        Doc { roff: Roff::new(), after_heading: false }
    }

    /// The sections written, without the preamble (see [`without_preamble`]).
    pub(super) fn into_bytes(self) -> Vec<u8> {
        without_preamble(self.roff.render().as_bytes()).to_vec()
    }

    /// A whole page's first lines: the preamble, `.TH` (no date: the pages
    /// are committed, and must render alike on any day), and text set flush
    /// left without hyphenation, as it is full of keys, flags and URLs that
    /// a hyphen would change.
    pub(super) fn title(name: &str, section: &str, source: &str) -> Vec<u8> {
        let mut roff = Roff::new();
        roff.control("TH", [name, section, "\"\"", source]).control("ad", ["l"]).control("nh", []);
        roff.render().into_bytes()
    }

    pub(super) fn section(&mut self, title: &str) -> &mut Doc {
        self.roff.control("SH", [title]);
        self.after_heading = true;
        self
    }

    pub(super) fn subsection(&mut self, title: &str) -> &mut Doc {
        self.roff.control("SS", [title]);
        self.after_heading = true;
        self
    }

    /// Marked-up text at the left margin.
    pub(super) fn text(&mut self, text: &str) -> &mut Doc {
        self.blocks(text, Place::Section);
        self
    }

    /// A tagged item: `tag` on its own line, `text` indented below it.
    pub(super) fn item(&mut self, tag: Vec<Inline>, text: &str) -> &mut Doc {
        self.roff.control("TP", []);
        self.roff.text(tag);
        self.after_heading = false;
        self.blocks(text, Place::Item);
        self
    }

    /// An example: what it does, then the command line, shown as typed.
    pub(super) fn example(&mut self, what: &str, command: &str) -> &mut Doc {
        self.paragraph(Place::Section);
        self.roff.text(inline(what));
        self.display(command.lines().map(|l| vec![bold(l)]), Place::Section);
        self
    }

    /// `name(1), other(5)`: each page's name in bold.
    pub(super) fn pages(&mut self, pages: &[&str]) -> &mut Doc {
        let mut line = Vec::new();
        for (i, page) in pages.iter().enumerate() {
            let (name, section) = page.split_once('(').unwrap_or((page, ""));
            line.push(bold(name));
            let sep = if i + 1 == pages.len() { "" } else { "," };
            line.push(roman(if section.is_empty() { sep.to_string() } else { format!("({section}{sep}") }));
            if i + 1 < pages.len() {
                line.push(roman(" "));
            }
        }
        self.paragraph(Place::Section);
        self.roff.text(line);
        self
    }

    fn paragraph(&mut self, place: Place) {
        if !std::mem::take(&mut self.after_heading) {
            self.roff.control(if place == Place::Item { "IP" } else { "PP" }, []);
        }
    }

    fn blocks(&mut self, text: &str, place: Place) {
        for (i, block) in text.trim_matches('\n').split("\n\n").enumerate() {
            let lines: Vec<&str> = block.lines().collect();
            if lines.iter().all(|l| l.starts_with("    ")) {
                if i > 0 || place == Place::Section {
                    self.paragraph(place);
                }
                self.display(lines.iter().map(|l| vec![roman(&l[4..])]), place);
            } else if lines.first().is_some_and(|l| l.starts_with("- ")) {
                // Bullets only at a section's margin: in an item's body their
                // indent would replace the item's.
                debug_assert!(place == Place::Section, "bullets in an item: {block}");
                for bullet in bullets(&lines) {
                    self.roff.control("IP", ["\\(bu", "2"]);
                    self.roff.text(inline(&bullet));
                }
            } else {
                if i > 0 || place == Place::Section {
                    self.paragraph(place);
                }
                self.roff.text(inline(&lines.join(" ")));
            }
            self.after_heading = false;
        }
    }

    /// Lines shown as they are, indented, no filling. In an item's body a
    /// bare `.RS` first moves the margin to the body's indent, which `.RS 4`
    /// alone would measure from the section's margin instead.
    fn display(&mut self, lines: impl Iterator<Item = Vec<Inline>>, place: Place) {
        if place == Place::Item {
            self.roff.control("RS", []);
        }
        self.roff.control("RS", ["4"]);
        self.roff.control("nf", []);
        for line in lines {
            self.roff.text(line);
        }
        self.roff.control("fi", []);
        self.roff.control("RE", []);
        if place == Place::Item {
            self.roff.control("RE", []);
        }
    }
}

/// A block's bullet items, each joined into one line.
fn bullets(lines: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for line in lines {
        match (line.strip_prefix("- "), items.last_mut()) {
            (Some(start), _) => items.push(start.to_string()),
            (None, Some(last)) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            (None, None) => items.push(line.trim().to_string()),
        }
    }
    items
}

/// One line of marked-up text as roff inlines.
pub(super) fn inline(text: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(['`', '*']) {
        let mark = &rest[at..=at];
        let after = &rest[at + 1..];
        // `*` is italic only around a word (`*FILE*`), never in `*/5` or `a * b`.
        let close = after
            .find(mark)
            .filter(|&end| end > 0 && (mark == "`" || (!after.starts_with(' ') && !after[..end].ends_with(' '))));
        let Some(end) = close else {
            plain.push_str(&rest[..=at]);
            rest = after;
            continue;
        };
        plain.push_str(&rest[..at]);
        if !plain.is_empty() {
            out.push(roman(std::mem::take(&mut plain)));
        }
        let inner = &after[..end];
        out.push(if mark == "`" { bold(inner) } else { italic(inner) });
        rest = &after[end + 1..];
    }
    plain.push_str(rest);
    if !plain.is_empty() {
        out.push(roman(plain));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(doc: Doc) -> String {
        String::from_utf8(doc.into_bytes()).expect("utf-8")
    }

    #[test]
    fn markup_becomes_fonts() {
        assert_eq!(
            inline("run `taskq check` on *FILE*"),
            [roman("run "), bold("taskq check"), roman(" on "), italic("FILE")]
        );
        assert_eq!(inline("`*/5 * * * *` fires"), [bold("*/5 * * * *"), roman(" fires")]);
        assert_eq!(inline("a * b and 2*3"), [roman("a * b and 2*3")]);
    }

    #[test]
    fn blocks_become_paragraphs_displays_and_bullets() {
        let mut doc = Doc::new();
        doc.section("S").text("one\ntwo\n\n    shown  as is\n\n- first\n  more\n- second\n\nafter");
        let text = rendered(doc);
        assert_eq!(
            text,
            ".SH S\none two\n.PP\n.RS 4\n.nf\nshown  as is\n.fi\n.RE\n.IP \\(bu 2\nfirst more\n.IP \\(bu 2\nsecond\n.PP\nafter\n"
        );
    }

    #[test]
    fn an_item_keeps_its_indent_for_later_paragraphs() {
        let mut doc = Doc::new();
        doc.section("S").item(vec![bold("0")], "ok\n\nand more");
        assert_eq!(rendered(doc), ".SH S\n.TP\n\\fB0\\fR\nok\n.IP\nand more\n");
    }
}
