//! The integration tests: one binary (see Cargo.toml), each module a subject.
//!
//! - `accounts`: jobs as another user (`user`, `group`), switched to by a root worker
//! - `architecture`: the modules of src/ depend on each other without a cycle
//! - `browser`: the dashboard in headless Chromium: login, live job pages, retry and pause buttons, roles, no console errors
//! - `beat`: schedules fired once per tick across beats, catch-up, reload, crontab import
//! - `hostile`: hostile parameters, output and URLs
//! - `secrets`: every command, with secrets in play: none ever shown
//! - `fuzz`: property-based fuzzing of the parsers, and of parameters under real shells
//! - `declared_keys`: the Redis scripts name only keys given in KEYS
//! - `cli`: config discovery and errors, `check`, usage errors, generated docs
//! - `man_pages`: each page's sections, its examples parsed as command lines, groff's verdict
//! - `completions`: TAB in bash and zsh (and fish, if installed) completes jobs, schedules and ids
//! - `contrib`: the systemd units and the Supervisor example run commands taskq accepts, sandboxed
//! - `exec_shell`, `exec_http`: the executors, through `taskq exec`
//! - `faults`: network and Redis faults; first, the proxy and fault helpers themselves
//! - `conformance`: the broker contract, every case on `SQLite` and Redis
//! - `calls`: what jobs cost Redis in script calls: a queue found empty is not asked again
//! - `queue`: `enqueue`, `--batch`, `status`, `wait`, `list` with the binary
//! - `worker`: `taskq run` end to end: leases, redelivery, shutdown, draining
//! - `ops`: history, logs, systemd notifications, metrics, schedule health
//! - `upgrade`: a Redis namespace of an earlier key layout moved on first connection
//! - `cross_slot`: on Redis, what spans queues (unique keys, hook jobs) survives a crash between its steps
//! - `policies`: retries, the failed set, uniqueness, expiry, limits, revoke, hooks
//! - `web`: the HTTP API with a real client: enqueue and read back, roles, bad input, refusals to start
//! - `workflows`: chains, groups and chords, `map`, failure, revoke and `--batch --then` with real workers

mod common;

mod accounts;
mod architecture;
mod beat;
mod browser;
mod calls;
mod cli;
mod completions;
mod conformance;
mod contrib;
mod cross_slot;
mod declared_keys;
mod exec_http;
mod exec_shell;
mod faults;
mod fuzz;
mod hostile;
mod man_pages;
mod ops;
mod policies;
mod queue;
mod secrets;
mod upgrade;
mod web;
mod worker;
mod workflows;
