//! The `taskq` binary: parse the command line, set up logging and the
//! runtime, run, and turn the result into an exit code.

// The future of `taskq::run` nests every command's futures; computing its
// layout in a release build goes deeper than the default limit of 128.
#![recursion_limit = "256"]

use std::process::ExitCode;

use taskq::cli::Cli;
use taskq::shutdown::Shutdown;

fn main() -> ExitCode {
    taskq::stdio::guard();
    // A shell asking for completions (`COMPLETE=bash taskq -- ...`); without
    // the variable this is one environment lookup.
    if let Some(code) = taskq::cli::complete::from_env() {
        return code;
    }
    let cli = match Cli::try_parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version go to stdout and exit 0; usage errors exit 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    taskq::logging::init(&cli);
    let runtime = if cli.command.is_multi_threaded() {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let shutdown = Shutdown::new();
        if cli.command.handles_signals() {
            shutdown.listen_for_signals();
        }
        if cli.command.handles_reload() {
            shutdown.listen_for_reload();
        }
        if cli.command.stops_on_hangup() {
            shutdown.stop_on_hangup();
        }
        taskq::run(cli, shutdown).await
    });
    match result {
        Ok(code) => code,
        Err(err) if taskq::error::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            for line in taskq::error::render(&err) {
                eprintln!("{line}");
            }
            taskq::error::exit_code(&err).into()
        }
    }
}
