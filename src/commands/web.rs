//! `taskq web`: the HTTP API (`crate::web`), and `web hash-password` for
//! its auth file.

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

use super::Context;
use crate::cli::{WebAction, WebArgs};
use crate::config::{ConfigError, ConfigErrors};
use crate::error::UsageError;
use crate::web::{Web, auth};

pub(super) async fn run(args: WebArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if let Some(WebAction::HashPassword) = args.action {
        return hash_password();
    }
    let users = match (&args.auth_file, args.no_auth) {
        (Some(path), _) => Some((
            auth::Users::load(path).map_err(|message| ConfigErrors(vec![ConfigError { location: None, message }]))?,
            path.clone(),
        )),
        (None, true) if args.listen.ip().is_loopback() => None,
        (None, true) => {
            return Err(UsageError(format!(
                "--no-auth is only allowed on a loopback address, not {}: give --auth-file FILE",
                args.listen
            ))
            .into());
        }
        (None, false) => {
            return Err(UsageError(
                "taskq web needs --auth-file FILE (users from `taskq web hash-password`), or --no-auth on a loopback address"
                    .into(),
            )
            .into());
        }
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            crate::web::tls_acceptor(cert, key)
                .map_err(|message| ConfigErrors(vec![ConfigError { location: None, message }]))?,
        ),
        _ => None,
    };
    let config = Arc::new(ctx.config()?);
    // Listening only once the broker answers: a client is refused at once
    // rather than left waiting.
    let Some(broker) = ctx.broker_waiting(&config, true).await? else {
        return Ok(ExitCode::SUCCESS);
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| UsageError(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener.local_addr()?;
    let auth = if users.is_some() { "users of the auth file" } else { "no authentication (--no-auth)" };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(listen = %addr, auth, "serving the dashboard at {scheme}://{addr}/ and the HTTP API under /api/v1/");
    let web = Arc::new(Web::new(broker, Arc::unwrap_or_clone(config), users));
    tokio::spawn(reload_on_request(web.clone(), ctx.shutdown.clone()));
    // Type=notify units (contrib/systemd/taskq-web.service): READY once
    // listening, the watchdog fed while the runtime answers.
    let status = format!("serving {scheme}://{addr}/");
    crate::systemd::ready(&status);
    let supervisor = tokio_util::sync::CancellationToken::new();
    let stopping = ctx.shutdown.graceful().clone();
    tokio::spawn(crate::systemd::supervise(move || status.clone(), stopping, supervisor.clone()));
    let served = crate::web::serve(listener, web, tls, ctx.shutdown.graceful().clone()).await;
    supervisor.cancel();
    crate::systemd::stopping("stopped");
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the auth file and jobs.toml again at each SIGHUP: the pages and
/// the API take the new users, jobs and schedules; an invalid file is
/// reported and what was read before kept.
async fn reload_on_request(web: Arc<Web>, shutdown: crate::shutdown::Shutdown) {
    let mut reloads = shutdown.reloads();
    let stop = shutdown.graceful().clone();
    loop {
        tokio::select! {
            changed = reloads.changed() => if changed.is_err() { return },
            () = stop.cancelled() => return,
        }
        // Off the server's one thread: reading the files, and the auth
        // file's decoy password hash (argon2), take tens of milliseconds.
        let web = web.clone();
        let _ = tokio::task::spawn_blocking(move || reload(&web)).await;
    }
}

fn reload(web: &Web) {
    match web.reload_users() {
        Ok(0) => {}
        Ok(n) => tracing::info!(users = n, "auth file reloaded"),
        Err(e) => tracing::error!("reload: {e}; keeping the users read before"),
    }
    let path = web.config().path.clone();
    match crate::config::Config::load(&path) {
        Ok(config) => {
            tracing::info!(config = %path.display(), jobs = config.jobs.len(), "config reloaded");
            web.set_config(config);
        }
        Err(errors) => {
            for e in &errors.0 {
                tracing::error!("reload: {e}");
            }
            tracing::error!(config = %path.display(), "reload failed: keeping the running config");
        }
    }
}

/// Reads one line (a password) on stdin and prints its hash. On a
/// terminal it asks on stderr and does not echo what is typed.
fn hash_password() -> anyhow::Result<ExitCode> {
    let mut line = String::new();
    let _quiet = Quiet::asking();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| UsageError(format!("cannot read the password: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(UsageError("no password on stdin: type one and press Enter, or pipe it in".into()).into());
    }
    let hash = auth::hash_password(password).map_err(anyhow::Error::msg)?;
    say!("{hash}");
    Ok(ExitCode::SUCCESS)
}

/// A terminal's echo switched off while a password is typed, and back on
/// when dropped (also on an error). Not a terminal: nothing to do.
struct Quiet(Option<rustix::termios::Termios>);

impl Quiet {
    fn asking() -> Quiet {
        use std::io::{IsTerminal, Write};
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Quiet(None);
        }
        eprint!("password (not shown): ");
        let _ = std::io::stderr().flush();
        let Ok(before) = rustix::termios::tcgetattr(&stdin) else { return Quiet(None) };
        let mut quiet = before.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        quiet.local_modes.insert(rustix::termios::LocalModes::ECHONL);
        let set = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet);
        Quiet(set.ok().map(|()| before))
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        if let Some(before) = &self.0 {
            let _ = rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, before);
        }
    }
}
