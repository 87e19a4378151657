//! Logs go to stderr (stdout is for data): text for people, JSON for log
//! shippers. `-v`/`-q` step the level from a per-command default; `TASKQ_LOG`
//! (an EnvFilter directive) overrides both.

use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, ColorChoice, LogFormat};

/// Installs the global subscriber for this process.
pub fn init(cli: &Cli) {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    // Workers and beat narrate their lifecycle; one-shot commands only warn.
    let base: i32 = if cli.command.is_long_running() { 3 } else { 2 };
    let level = (base + i32::from(cli.global.verbose) - i32::from(cli.global.quiet)).clamp(0, 5) as usize;
    let filter = match std::env::var("TASKQ_LOG") {
        Ok(directive) if !directive.is_empty() => {
            EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new(LEVELS[level]))
        }
        _ => EnvFilter::new(format!("{}={}", env!("CARGO_CRATE_NAME"), LEVELS[level])),
    };
    let ansi = match cli.global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = match cli.global.log_format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Text => builder.with_ansi(ansi).try_init(),
    };
}
