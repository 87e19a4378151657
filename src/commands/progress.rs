//! Progress bars for long operations: drawn on a terminal, absent when piped.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar of `len` steps on stderr, hidden unless stderr is a terminal.
pub(super) fn bar(len: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

/// A counter without a known end.
pub(super) fn counter(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target());
    bar.set_style(ProgressStyle::with_template("{msg} {pos} ({per_sec})").expect("the template is valid"));
    bar.set_message(message);
    bar
}

/// A spinner for a wait of unknown length.
pub(super) fn spinner(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target());
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("the template is valid"));
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() }
}
