//! `taskq enqueue --batch`: JSON lines in, ids out. Good lines are enqueued
//! in chunks as they come; bad ones are reported by line number and the
//! command ends with exit 65, the good ones kept.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use jiff::Timestamp;
use serde::Deserialize;

use super::Context;
use crate::broker::Broker;
use crate::config::Config;
use crate::error::{DataError, UsageError};
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

pub async fn run(path: &Path, config: &Config, ctx: &Context) -> anyhow::Result<ExitCode> {
    let input: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| UsageError(format!("cannot read --batch {}: {e}", path.display())))?,
        )
    };
    let broker = ctx.broker(Some(config)).await?;
    let progress = super::progress::counter("enqueued");
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut chunk = Vec::with_capacity(CHUNK);
    let (mut enqueued, mut duplicates, mut bad, mut lines) = (0u64, 0u64, 0u64, 0u64);
    for (index, line) in BufReader::new(input).split(b'\n').enumerate() {
        let line = line.map_err(|e| UsageError(format!("cannot read --batch input: {e}")))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        match parse(&line, config, Timestamp::now()) {
            Ok(job) => chunk.push(job),
            Err(why) => {
                progress.suspend(|| eprintln!("error: line {}: {why}", index + 1));
                bad += 1;
            }
        }
        if chunk.len() == CHUNK {
            flush(broker.as_ref(), &mut chunk, &mut out, &mut enqueued, &mut duplicates).await?;
            progress.set_position(enqueued);
        }
    }
    flush(broker.as_ref(), &mut chunk, &mut out, &mut enqueued, &mut duplicates).await?;
    out.flush()?;
    progress.finish_and_clear();
    let dups = if duplicates > 0 { format!(" ({duplicates} duplicates of earlier jobs)") } else { String::new() };
    if bad > 0 {
        return Err(
            DataError(format!("{bad} of {lines} lines rejected; the other {enqueued} were enqueued{dups}")).into()
        );
    }
    tracing::info!("enqueued {enqueued} jobs{dups}");
    Ok(ExitCode::SUCCESS)
}

/// A line as a job, or why it is not one.
fn parse(line: &[u8], config: &Config, now: Timestamp) -> Result<NewJob, String> {
    let line: Line = serde_json::from_slice(line).map_err(|e| format!("invalid JSON line: {e}"))?;
    let def = config.job(&line.job).map_err(|e| e.0)?;
    let mut job = def.new_job(line.args, line.params, now).map_err(|e| e.to_string())?;
    if let Some(q) = line.queue {
        job.queue = QueueName::new(&q)?;
    }
    Ok(job)
}

async fn flush(
    broker: &dyn Broker,
    chunk: &mut Vec<NewJob>,
    out: &mut impl Write,
    enqueued: &mut u64,
    duplicates: &mut u64,
) -> anyhow::Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let results = broker
        .enqueue(chunk, Timestamp::now())
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("{enqueued} jobs were enqueued before this failure")))?;
    for r in &results {
        writeln!(out, "{}", r.id)?;
        if r.duplicate {
            *duplicates += 1;
        } else {
            *enqueued += 1;
        }
    }
    chunk.clear();
    Ok(())
}
