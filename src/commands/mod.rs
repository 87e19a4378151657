//! One file per subcommand, each with `run(args, ctx)`. `Context` gives them
//! the config and broker the global flags point at.

/// `println!` that returns an error when stdout is closed (`taskq list |
/// head`) instead of panicking; `main` ends quietly on a broken pipe.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!($crate::stdio::stdout(), $($arg)*)?
    }};
}

pub(crate) mod batch;
mod beat;
mod check;
mod docs;
mod enqueue;
mod exec;
mod history;
mod import_crontab;
mod inspect;
mod list;
mod logs;
mod man;
mod progress;
mod purge;
mod retry;
mod revoke;
mod run;
mod schedule;
mod status;
mod table;
mod top;
mod web;

use std::process::ExitCode;
use std::sync::Arc;

use crate::broker::{self, Broker, BrokerUrl};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{Config, ConfigErrors};
use crate::error::UsageError;
use crate::names::Namespace;
use crate::shutdown::Shutdown;

pub use crate::man::pages as man_pages;
pub use docs::completions;

/// What every command may need: the global flags and the shutdown handle.
pub struct Context {
    pub global: GlobalArgs,
    pub shutdown: Shutdown,
}

impl Context {
    /// The config, which must exist and be valid.
    pub fn config(&self) -> Result<Config, ConfigErrors> {
        Config::discover(self.global.config.as_deref())
    }

    /// The config if one is found; a command that only reads the broker can
    /// run without one when `--broker` says where the broker is. With the
    /// broker given so, an invalid config is reported and ignored rather
    /// than blocking a look at the queue.
    pub fn optional_config(&self) -> Result<Option<Config>, ConfigErrors> {
        let found = if self.global.config.is_some() {
            self.config().map(Some)
        } else {
            match crate::config::search_path().iter().find(|p| p.is_file()) {
                Some(path) => Config::load(path).map(Some),
                None => Ok(None),
            }
        };
        match found {
            Err(errors) if self.global.broker.is_some() => {
                let first = errors.iter().next().map(ToString::to_string).unwrap_or_default();
                tracing::warn!("ignoring the invalid config ({first}); using --broker");
                Ok(None)
            }
            other => other,
        }
    }

    /// The broker URL: --broker or $TASKQ_BROKER, then [taskq] broker, then
    /// the embedded default.
    pub fn broker_url(&self, config: Option<&Config>) -> anyhow::Result<BrokerUrl> {
        if let Some(url) = &self.global.broker {
            return BrokerUrl::parse(url).map_err(|e| UsageError(format!("--broker: {e}")).into());
        }
        let Some(config) = config else { return Ok(BrokerUrl::default_sqlite()?) };
        let named = crate::config::broker_named(config).map_err(ConfigErrors::one)?;
        if let Some((url, at)) = named {
            return BrokerUrl::parse(&url).map_err(|e| ConfigErrors::one(format!("{at}: {e}")).into());
        }
        if crate::config::is_system_config(&config.path) {
            return Ok(BrokerUrl::system_sqlite()?);
        }
        Ok(BrokerUrl::default_sqlite()?)
    }

    /// The namespace: --namespace or $TASKQ_NAMESPACE, then [taskq], then "taskq".
    pub fn namespace(&self, config: Option<&Config>) -> Namespace {
        self.global
            .namespace
            .clone()
            .or_else(|| config.and_then(|c| c.settings.namespace.clone()))
            .unwrap_or_else(Namespace::default_namespace)
    }

    /// Connects to the broker the flags and config point at.
    pub async fn broker(&self, config: Option<&Config>) -> anyhow::Result<Arc<dyn Broker>> {
        let url = self.broker_url(config)?;
        let ns = self.namespace(config);
        let retention = config.map(|c| c.settings.retention()).unwrap_or_default();
        Ok(broker::connect_with(&url, &ns, broker::Options { retention, ..broker::Options::default() }).await?)
    }
}

impl Context {
    /// Connects; with `wait`, an unreachable broker is waited out with capped
    /// backoff (one log line when it starts failing, one when it is back)
    /// until it answers or a shutdown is asked for (`None`). Without, it is
    /// an error (exit 69).
    pub async fn broker_waiting(&self, config: &Config, wait: bool) -> anyhow::Result<Option<Arc<dyn Broker>>> {
        let mut delay = std::time::Duration::from_millis(200);
        let mut logged = false;
        loop {
            match self.broker(Some(config)).await {
                Ok(b) => {
                    if logged {
                        tracing::info!("broker reachable");
                    }
                    return Ok(Some(b));
                }
                Err(e) => {
                    let unavailable =
                        e.downcast_ref::<broker::BrokerError>().is_some_and(broker::BrokerError::is_unavailable);
                    if !wait || !unavailable {
                        return Err(e);
                    }
                    if !logged {
                        tracing::error!(error = %e, "broker unavailable; retrying with backoff");
                        logged = true;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = self.shutdown.graceful().cancelled() => return Ok(None),
                    }
                    delay = (delay * 2).min(std::time::Duration::from_secs(10));
                }
            }
        }
    }
}

/// Dispatches one command line.
pub async fn run(cli: Cli, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    let ctx = Context { global: cli.global, shutdown };
    match cli.command {
        Command::Check(args) => check::run(args, &ctx).await,
        Command::Exec(args) => exec::run(args, &ctx).await,
        Command::Enqueue(args) => enqueue::run(args, &ctx).await,
        Command::Run(args) => run::run(args, &ctx).await,
        Command::Status(args) => status::status(args, &ctx).await,
        Command::Wait(args) => status::wait(args, &ctx).await,
        Command::List(args) => list::run(args, &ctx).await,
        Command::Completions(args) => completions(args.shell, &mut crate::stdio::stdout()),
        Command::Man(args) => man::run(args, &mut crate::stdio::stdout()),
        Command::Beat(args) => beat::run(args, &ctx).await,
        Command::Logs(args) => logs::run(args, &ctx).await,
        Command::History(args) => history::run(args, &ctx).await,
        Command::Inspect(args) => inspect::run(args, &ctx).await,
        Command::Top(args) => top::run(args, &ctx).await,
        Command::Web(args) => web::run(args, &ctx).await,
        Command::Schedule(command) => schedule::run(command, &ctx).await,
        Command::Revoke(args) => revoke::run(args, &ctx).await,
        Command::Retry(args) => retry::run(args, &ctx).await,
        Command::Purge(args) => purge::run(args, &ctx).await,
        Command::ImportCrontab(args) => import_crontab::run(args),
        Command::Reap => Ok(crate::exec::reaper::run()),
    }
}
