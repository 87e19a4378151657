//! `taskq enqueue --batch`: JSON lines in, ids out. Good lines are enqueued
//! in chunks as they come; bad ones are reported by line number and the
//! command ends with exit 65, the good ones kept.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use serde::Deserialize;

use super::Context;
use crate::config::Config;
use crate::error::{DataError, NotPrinted, UsageError};
use crate::job::NewJob;
use crate::names::QueueName;

/// Jobs per broker call.
const CHUNK: usize = 2000;

/// One input line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    job: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    params: BTreeMap<String, String>,
    #[serde(default)]
    queue: Option<String>,
}

/// What the reader thread sends: parsed chunks, and bad lines as found.
enum Parsed {
    Chunk(Vec<NewJob>),
    Bad { line: usize, why: String },
    Unreadable(String),
}

/// Chunks being enqueued at once: the reader parses the next while the
/// broker stores these.
const IN_FLIGHT: usize = 2;

pub(super) async fn run(path: &Path, config: &Config, ctx: &Context) -> anyhow::Result<ExitCode> {
    let input = open(path)?;
    let broker = ctx.broker(Some(config)).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(IN_FLIGHT * 2);
    let reader_config = config.clone();
    std::thread::spawn(move || read(input, &reader_config, &tx));

    let progress = super::progress::counter("enqueued");
    let mut out = std::io::BufWriter::new(crate::stdio::stdout());
    let mut in_flight = FuturesOrdered::new();
    let (mut enqueued, mut duplicates, mut bad, mut lines) = (0u64, 0u64, 0u64, 0u64);
    let mut input_done = false;
    let mut unreadable: Option<String> = None;
    // Once stdout fails (`| head -1`, a full disk), the ids go unprinted but
    // the batch still goes in whole: stopping half-way would leave a caller
    // unable to tell which lines are in.
    let mut unprinted: Option<std::io::Error> = None;
    loop {
        tokio::select! {
            msg = rx.recv(), if !input_done && in_flight.len() < IN_FLIGHT => match msg {
                Some(Parsed::Chunk(jobs)) => {
                    lines += jobs.len() as u64;
                    let broker = broker.clone();
                    in_flight.push_back(async move {
                        let result = broker.enqueue(&jobs).await;
                        (jobs.len(), result)
                    });
                }
                Some(Parsed::Bad { line, why }) => {
                    lines += 1;
                    bad += 1;
                    progress.suspend(|| eprintln!("error: line {line}: {}", crate::text::one_line(&why)));
                }
                // What was read before goes in whole, then the error is told.
                Some(Parsed::Unreadable(e)) => {
                    unreadable = Some(e);
                    input_done = true;
                }
                None => input_done = true,
            },
            Some((_, result)) = in_flight.next() => {
                let results = result
                    .map_err(|e| anyhow::Error::new(e).context(format!("{enqueued} jobs were enqueued before this failure")))?;
                for r in &results {
                    if unprinted.is_none() && let Err(e) = writeln!(out, "{}", r.id) {
                        unprinted = Some(e);
                    }
                    if r.duplicate { duplicates += 1 } else { enqueued += 1 }
                }
                progress.set_position(enqueued);
            }
            else => break,
        }
    }
    if unprinted.is_none()
        && let Err(e) = out.flush()
    {
        unprinted = Some(e);
    }
    progress.finish_and_clear();
    let dups = if duplicates > 0 { format!(" ({duplicates} duplicates of earlier jobs)") } else { String::new() };
    if let Some(e) = unprinted {
        let rejected = if bad > 0 { format!("; {bad} lines were rejected") } else { String::new() };
        return Err(NotPrinted(format!(
            "{enqueued} jobs were enqueued{dups}, but their ids could not all be printed: {e}{rejected} \
             (taskq list shows them)"
        ))
        .into());
    }
    if let Some(e) = unreadable {
        let rejected = if bad > 0 { format!(", {bad} lines rejected") } else { String::new() };
        return Err(DataError(format!(
            "cannot read --batch input: {e}; the {enqueued} jobs before it were enqueued{dups}{rejected}"
        ))
        .into());
    }
    if bad > 0 {
        return Err(
            DataError(format!("{bad} of {lines} lines rejected; the other {enqueued} were enqueued{dups}")).into()
        );
    }
    tracing::info!("enqueued {enqueued} jobs{dups}");
    Ok(ExitCode::SUCCESS)
}

/// `enqueue --batch FILE --then JOB`: an ad-hoc chord. The whole batch is
/// read and checked first (one bad line and nothing goes in: JOB must wait
/// for exactly the jobs given), then a workflow run of two steps starts,
/// its first step the batch's jobs, its second JOB; the jobs' ids are
/// printed as `--batch` prints them, the run's id on stderr.
/// What `--wait` asks of `--batch --then`.
pub(super) enum Wait {
    No,
    /// For the run, up to `--timeout` if given; exit with its outcome.
    Yes(Option<std::time::Duration>),
}

/// With `Wait::Yes`, it then waits for the run and exits with its outcome.
pub(super) async fn run_then(
    path: &Path,
    then: &str,
    wait: Wait,
    config: &Config,
    ctx: &Context,
) -> anyhow::Result<ExitCode> {
    if config.workflow(then).is_some() {
        return Err(UsageError(format!("--then {then}: a workflow cannot follow a batch yet; name a job")).into());
    }
    let callback = config.job(then)?;
    callback
        .new_job(Vec::new(), BTreeMap::new())
        .map_err(|e| UsageError(format!("--then {then}: {e}; it gets no parameters of its own")))?;
    let input = open(path)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(IN_FLIGHT * 2);
    let reader_config = config.clone();
    std::thread::spawn(move || read(input, &reader_config, &tx));
    let (mut jobs, mut bad) = (Vec::new(), 0u64);
    while let Some(msg) = rx.recv().await {
        match msg {
            Parsed::Chunk(chunk) => jobs.extend(chunk),
            Parsed::Bad { line, why } => {
                bad += 1;
                eprintln!("error: line {line}: {}", crate::text::one_line(&why));
            }
            Parsed::Unreadable(e) => {
                return Err(DataError(format!("cannot read --batch input: {e}; nothing was enqueued")).into());
            }
        }
    }
    if bad > 0 {
        return Err(DataError(format!(
            "{bad} lines rejected; nothing was enqueued (with --then the batch goes in whole or not at all)"
        ))
        .into());
    }
    if jobs.is_empty() {
        return Err(DataError("the batch holds no jobs: --then would have nothing to wait for".into()).into());
    }
    let run = crate::job::JobId::new();
    let name = callback.name.clone();
    let mut members: Vec<crate::names::JobName> = Vec::new();
    for job in &mut jobs {
        job.workflow = Some(crate::job::WorkflowStep { run, workflow: name.clone(), step: 0 });
        // Each must be this batch's own job: a unique key could answer
        // with another job, which would never report to this run.
        job.unique = None;
        if !members.contains(&job.job) {
            members.push(job.job.clone());
        }
    }
    let def = crate::config::WorkflowDef {
        name,
        steps: vec![
            crate::config::Step::Group(members.into_iter().map(crate::config::Member::Job).collect()),
            crate::config::Step::Job(callback.name.clone()),
        ],
        on_failure: None,
    };
    let ids: Vec<crate::job::JobId> = jobs.iter().map(|j| j.id).collect();
    let new_run = crate::broker::NewRun {
        id: run,
        params: BTreeMap::new(),
        def,
        parent: None,
        ttl: crate::workflow::drive::run_ttl(config),
        first: Some(ids),
        scheduled: false,
    };
    let broker = ctx.broker(Some(config)).await?;
    broker.start_run(&new_run).await?;
    let touch = crate::broker::NewRun { first: None, ..new_run };
    let mut out = std::io::BufWriter::new(crate::stdio::stdout());
    let mut enqueued = 0;
    for chunk in jobs.chunks(CHUNK) {
        broker.enqueue(chunk).await.map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "{enqueued} of {} jobs were enqueued before this failure; revoke run {run} to cancel them",
                jobs.len()
            ))
        })?;
        enqueued += chunk.len();
        // The run is still being filled: not one maintenance should think
        // its starter died.
        broker.start_run(&touch).await?;
        for job in chunk {
            writeln!(out, "{}", job.id).map_err(|e| {
                NotPrinted(format!("the batch was enqueued (run {run}), but its ids could not be printed: {e}"))
            })?;
        }
    }
    out.flush().map_err(|e| {
        NotPrinted(format!("the batch was enqueued (run {run}), but its ids could not be printed: {e}"))
    })?;
    eprintln!("run {run}: {then} runs once all {} jobs succeeded (taskq wait {run})", jobs.len());
    let Wait::Yes(timeout) = wait else { return Ok(ExitCode::SUCCESS) };
    let ended = super::status::wait_for_runs(broker.as_ref(), &[run], timeout).await?;
    if let Some(r) = ended.first().filter(|r| r.state != crate::broker::RunState::Succeeded) {
        let why = crate::views::RunView::from(r).error.map(|e| format!(": {e}")).unwrap_or_default();
        return Err(crate::error::Failed(format!("run {run} ({then} after the batch) {}{why}", r.state)).into());
    }
    Ok(ExitCode::SUCCESS)
}

fn open(path: &Path) -> anyhow::Result<Box<dyn Read + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    Ok(Box::new(
        std::fs::File::open(path).map_err(|e| UsageError(format!("cannot read --batch {}: {e}", path.display())))?,
    ))
}

/// Longer than any job's line can be (a shell job's values are at most
/// 1 MiB in all); a longer line is refused without holding it in memory.
const MAX_LINE_BYTES: usize = 2 << 20;

/// Reads and parses lines on a thread of its own, sending chunks of jobs.
fn read(input: Box<dyn Read + Send>, config: &Config, tx: &tokio::sync::mpsc::Sender<Parsed>) {
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut reader = BufReader::new(input);
    let mut line = Vec::new();
    for index in 0.. {
        let whole = match next_line(&mut reader, &mut line) {
            Ok(Some(whole)) => whole,
            Ok(None) => break,
            Err(e) => {
                if !chunk.is_empty() {
                    let _ = tx.blocking_send(Parsed::Chunk(std::mem::take(&mut chunk)));
                }
                let _ = tx.blocking_send(Parsed::Unreadable(format!("line {}: {e}", index + 1)));
                return;
            }
        };
        // A BOM, as some Windows editors write, is not part of the first line.
        let text = if index == 0 { line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&line) } else { &line[..] };
        if whole && text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = if whole {
            parse(text, config)
        } else {
            Err(format!("the line is over {} MiB, more than any job can be given", MAX_LINE_BYTES >> 20))
        };
        match parsed {
            Ok(job) => chunk.push(job),
            Err(why) => {
                if tx.blocking_send(Parsed::Bad { line: index + 1, why }).is_err() {
                    return;
                }
            }
        }
        if chunk.len() == CHUNK && tx.blocking_send(Parsed::Chunk(std::mem::take(&mut chunk))).is_err() {
            return;
        }
    }
    if !chunk.is_empty() {
        let _ = tx.blocking_send(Parsed::Chunk(chunk));
    }
}

/// The next line into `line` (without its newline): `Some(true)` when whole,
/// `Some(false)` when over `MAX_LINE_BYTES` (the rest is read and dropped),
/// `None` at the end of input.
fn next_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut seen = false;
    let mut whole = true;
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(seen.then_some(whole));
        }
        seen = true;
        let (part, used, ended) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        // A JSON line never holds a raw NUL: this is binary (`--batch
        // /dev/zero`), where no newline may ever come.
        if part.contains(&0) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "it holds a NUL byte: the input is not text (one JSON object per line)",
            ));
        }
        if whole && line.len() + part.len() <= MAX_LINE_BYTES {
            line.extend_from_slice(part);
        } else {
            whole = false;
            line.clear();
        }
        reader.consume(used);
        if ended {
            return Ok(Some(whole));
        }
    }
}

/// A line as a job, or why it is not one.
pub(crate) fn parse(line: &[u8], config: &Config) -> Result<NewJob, String> {
    let line: Line = serde_json::from_slice(line).map_err(|e| format!("invalid JSON line: {e}"))?;
    let def = config.job(&line.job).map_err(|e| e.0)?;
    let mut job = def.new_job(line.args, line.params).map_err(|e| e.to_string())?;
    if let Some(q) = line.queue {
        def.move_to(&mut job, QueueName::new(&q)?)?;
    }
    Ok(job)
}
