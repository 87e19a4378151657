//! `taskq top`: `inspect`'s snapshot full screen, read again every second —
//! queues and depths, workers and how long their jobs have run, per-job
//! outcomes with a sparkline of the last hour, and the schedules that need
//! a look (failing, overdue, paused). Keys: `q` quits, `/` filters the jobs,
//! the arrow keys select one and Enter shows its latest runs as `status`
//! does. Not on a terminal (or with `--json`) it prints `inspect` once.
//!
//! The terminal is drawn by ratatui from a blocking thread; the broker is
//! read by a task that hands each snapshot over a watch channel, so a slow
//! broker never freezes the keys.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Table, TableState};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Context;
use crate::broker::ListFilter;
use crate::cli::InspectArgs;
use crate::control::snapshot;
use crate::names::JobName;
use crate::text::{one_line, short_duration};
use crate::views::{InspectView, JobStatsView};

/// How often the broker is read.
const REFRESH: Duration = Duration::from_secs(1);
/// How long a key is waited for before the screen is drawn again.
const TICK: Duration = Duration::from_millis(100);
/// The sparkline's span: the last this many minutes.
const SPARK_MINUTES: usize = 30;
/// Runs the detail view lists.
const DETAIL_RUNS: usize = 5;
/// The minutes a queue's rate is averaged over.
const RATE_MINUTES: usize = 5;

/// What the reading task hands the screen.
#[derive(Default)]
struct Feed {
    view: Option<Arc<InspectView>>,
    error: Option<String>,
    at: Option<Timestamp>,
    /// The detail asked for: the job, and its lines once read.
    detail: Option<(String, Vec<String>)>,
}

pub(super) async fn run(args: InspectArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if args.json || !std::io::stdout().is_terminal() {
        return super::inspect::run(args, ctx).await;
    }
    let config = ctx.config()?;
    let broker = ctx.broker(Some(&config)).await?;
    let (feed_tx, feed_rx) = watch::channel(Feed::default());
    let (want_tx, mut want_rx) = watch::channel::<Option<String>>(None);
    let stop = CancellationToken::new();
    let reader = {
        let stop = stop.clone();
        async move {
            loop {
                match snapshot(&config, broker.as_ref()).await {
                    Ok(view) => feed_tx.send_modify(|f| {
                        f.view = Some(Arc::new(view));
                        f.error = None;
                        f.at = Some(Timestamp::now());
                    }),
                    Err(e) => feed_tx.send_modify(|f| f.error = Some(format!("{e:#}"))),
                }
                let wanted = want_rx.borrow_and_update().clone();
                let detail = match wanted {
                    Some(name) => Some((name.clone(), detail_lines(broker.as_ref(), &name).await)),
                    None => None,
                };
                feed_tx.send_modify(|f| f.detail = detail);
                tokio::select! {
                    () = tokio::time::sleep(REFRESH) => {}
                    _ = want_rx.changed() => {}
                    () = stop.cancelled() => return,
                }
            }
        }
    };
    let reading = tokio::spawn(reader);
    let graceful = ctx.shutdown.graceful().clone();
    let ui = tokio::task::spawn_blocking(move || screen(&feed_rx, &want_tx, &graceful));
    let result = ui.await;
    stop.cancel();
    // A broker call that hangs is not waited for: the screen is given back.
    reading.abort();
    result??;
    Ok(ExitCode::SUCCESS)
}

/// The latest runs of `job`, as `status` prints them.
async fn detail_lines(broker: &dyn crate::broker::Broker, job: &str) -> Vec<String> {
    let Ok(name) = JobName::new(job) else { return vec![format!("{} is not a job name", one_line(job))] };
    let filter = ListFilter { job: Some(name), limit: DETAIL_RUNS, ..ListFilter::default() };
    match broker.list(&filter).await {
        Ok(records) if records.is_empty() => vec![format!("no runs of {job} are kept")],
        Ok(records) => {
            let mut out = Vec::new();
            for r in &records {
                out.extend(super::status::record_lines(r));
                out.push(String::new());
            }
            out
        }
        Err(e) => vec![format!("cannot read the runs of {job}: {e}")],
    }
}

/// What the keys have set.
#[derive(Default)]
struct Ui {
    filter: String,
    typing: bool,
    jobs: TableState,
    detail: bool,
}

/// Draws until `q`, Ctrl-C or a shutdown; restores the terminal however it ends.
fn screen(
    feed: &watch::Receiver<Feed>,
    want: &watch::Sender<Option<String>>,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = (|| -> anyhow::Result<()> {
        let mut ui = Ui::default();
        ui.jobs.select(Some(0));
        loop {
            {
                let f = feed.borrow();
                terminal.draw(|frame| draw(frame, &f, &mut ui))?;
            }
            if stop.is_cancelled() {
                return Ok(());
            }
            if !event::poll(TICK)? {
                continue;
            }
            let Event::Key(key) = event::read()? else { continue };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            if ui.typing {
                match key.code {
                    KeyCode::Enter | KeyCode::Esc => ui.typing = false,
                    KeyCode::Backspace => {
                        ui.filter.pop();
                    }
                    KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => ui.filter.push(c),
                    _ => {}
                }
                ui.jobs.select(Some(0));
                continue;
            }
            let shown = visible_jobs(feed.borrow().view.as_deref(), &ui.filter);
            match key.code {
                KeyCode::Char('q') => return Ok(()),
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => return Ok(()),
                KeyCode::Char('/') => {
                    ui.typing = true;
                    ui.detail = false;
                }
                KeyCode::Esc => {
                    ui.detail = false;
                    want.send_replace(None);
                }
                KeyCode::Down => {
                    let at = ui.jobs.selected().unwrap_or(0);
                    ui.jobs.select(Some((at + 1).min(shown.len().saturating_sub(1))));
                }
                KeyCode::Up => {
                    let at = ui.jobs.selected().unwrap_or(0);
                    ui.jobs.select(Some(at.saturating_sub(1)));
                }
                KeyCode::Enter => {
                    if let Some(name) = ui.jobs.selected().and_then(|i| shown.get(i)) {
                        ui.detail = true;
                        want.send_replace(Some(name.clone()));
                    }
                }
                _ => {}
            }
        }
    })();
    ratatui::restore();
    result
}

/// The names of the jobs the filter lets through, in the table's order.
fn visible_jobs(view: Option<&InspectView>, filter: &str) -> Vec<String> {
    view.map(|v| v.jobs.iter().filter(|j| j.name.contains(filter)).map(|j| j.name.clone()).collect())
        .unwrap_or_default()
}

fn draw(frame: &mut ratatui::Frame<'_>, feed: &Feed, ui: &mut Ui) {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let header = match (&feed.at, &feed.error) {
        (_, Some(e)) => format!("taskq top — cannot read the broker: {}", one_line(e)),
        (Some(at), None) => {
            format!("taskq top — {}   q quit  / filter  ↑↓ select  Enter runs  Esc back", crate::time::local(*at))
        }
        (None, None) => "taskq top — reading the broker…".to_string(),
    };
    let [top, body, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(5), Constraint::Length(1)]).areas(frame.area());
    frame.render_widget(Paragraph::new(header).style(bold), top);
    let footer = if ui.typing || !ui.filter.is_empty() {
        format!("filter: {}{}", one_line(&ui.filter), if ui.typing { "▏" } else { "" })
    } else {
        String::new()
    };
    frame.render_widget(Paragraph::new(footer), bottom);
    let Some(view) = feed.view.as_deref() else { return };
    if ui.detail {
        let (title, lines) = match &feed.detail {
            Some((job, lines)) => (format!(" latest runs of {job} "), lines.clone()),
            None => (" reading… ".to_string(), Vec::new()),
        };
        let text: Vec<Line<'_>> = lines.into_iter().map(Line::from).collect();
        frame.render_widget(Paragraph::new(text).block(Block::bordered().title(title)), body);
        return;
    }
    let busy: usize = view.workers.iter().map(|w| w.running.len()).sum::<usize>().max(1);
    let [upper, jobs_area, schedules_area] = Layout::vertical([
        Constraint::Length((view.queues.len().max(view.workers.len() + busy) as u16 + 3).min(12)),
        Constraint::Min(4),
        Constraint::Length(6),
    ])
    .areas(body);
    let [queues_area, workers_area] =
        Layout::horizontal([Constraint::Percentage(30), Constraint::Percentage(70)]).areas(upper);

    let queues = Table::new(
        view.queues.iter().map(|q| {
            let rate = queue_rate(view, &q.name);
            Row::new(vec![one_line(&q.name).into_owned(), q.ready.to_string(), format!("{rate:.1}")])
        }),
        [Constraint::Min(10), Constraint::Length(8), Constraint::Length(8)],
    )
    .header(Row::new(["QUEUE", "READY", "DONE/MIN"]).style(bold))
    .block(Block::bordered().title(" queues "));
    frame.render_widget(queues, queues_area);

    let now = feed.at.unwrap_or_else(Timestamp::now);
    let mut rows = Vec::new();
    for w in &view.workers {
        let who =
            if w.concurrency == 0 { "(beat)".to_string() } else { format!("{}/{}", w.running.len(), w.concurrency) };
        rows.push(Row::new(vec![one_line(&w.id).into_owned(), who, String::new()]));
        for r in &w.running {
            let ran = r
                .started_at
                .as_deref()
                .and_then(|t| t.parse::<Timestamp>().ok())
                .map_or_else(|| "-".into(), |t| short_duration(now.duration_since(t).as_secs_f64().max(0.0)));
            rows.push(Row::new(vec![format!("  {}", one_line(&r.job)), ran, r.id.clone()]));
        }
    }
    if rows.is_empty() {
        rows.push(Row::new(vec!["no live workers".to_string()]));
    }
    let workers = Table::new(rows, [Constraint::Min(20), Constraint::Length(8), Constraint::Length(36)])
        .header(Row::new(["WORKER / JOB", "BUSY/RAN", "ID"]).style(bold))
        .block(Block::bordered().title(" workers "));
    frame.render_widget(workers, workers_area);

    let shown: Vec<&JobStatsView> = view.jobs.iter().filter(|j| j.name.contains(ui.filter.as_str())).collect();
    if ui.jobs.selected().is_some_and(|i| i >= shown.len()) {
        ui.jobs.select(Some(shown.len().saturating_sub(1)));
    }
    let job_rows = shown.iter().map(|j| {
        let h = &j.last_hour;
        let ended = h.succeeded + h.failed + h.retried + h.expired + h.lost;
        let rate = if ended == 0 { "-".into() } else { format!("{:.0}%", 100.0 * h.succeeded as f64 / ended as f64) };
        Row::new(vec![
            one_line(&j.name).into_owned(),
            j.running.to_string(),
            h.succeeded.to_string(),
            (h.failed + h.expired + h.lost).to_string(),
            h.retried.to_string(),
            rate,
            h.p95_seconds.map_or("-".into(), short_duration),
            sparkline(&j.per_minute),
        ])
    });
    let jobs = Table::new(
        job_rows,
        [
            Constraint::Min(16),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(SPARK_MINUTES as u16),
        ],
    )
    .header(Row::new(["JOB", "RUNNING", "OK 1H", "FAIL 1H", "RETRY", "OK %", "P95", "LAST 30 MIN"]).style(bold))
    .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
    .block(Block::bordered().title(" jobs (last hour) "));
    frame.render_stateful_widget(jobs, jobs_area, &mut ui.jobs);

    let needing: Vec<Row<'_>> = view
        .schedules
        .iter()
        .filter(|s| s.paused || !s.alerts.is_empty())
        .map(|s| {
            let what = if s.paused { "paused".to_string() } else { s.alerts.join("; ") };
            Row::new(vec![one_line(&s.name).into_owned(), s.schedule.clone(), what])
        })
        .collect();
    let title = if needing.is_empty() { " schedules: all healthy " } else { " schedules needing a look " };
    let schedules = Table::new(needing, [Constraint::Min(16), Constraint::Min(12), Constraint::Min(20)])
        .header(Row::new(["SCHEDULE", "WHEN", "WHY"]).style(bold))
        .block(Block::bordered().title(title));
    frame.render_widget(schedules, schedules_area);
}

/// Attempts ended per minute over the last `RATE_MINUTES` minutes by the
/// jobs the config puts on `queue`.
fn queue_rate(view: &InspectView, queue: &str) -> f64 {
    let ended: u64 = view
        .jobs
        .iter()
        .filter(|j| j.queue.as_deref() == Some(queue))
        .flat_map(|j| j.per_minute.iter().rev().take(RATE_MINUTES))
        .map(|[ok, bad]| ok + bad)
        .sum();
    ended as f64 / RATE_MINUTES as f64
}

/// The last `SPARK_MINUTES` minutes of a job's endings as block characters,
/// scaled to its busiest minute; a minute with a failure shows `!` if it
/// had no success.
fn sparkline(per_minute: &[[u64; 2]]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let recent = &per_minute[per_minute.len().saturating_sub(SPARK_MINUTES)..];
    let most = recent.iter().map(|[ok, bad]| ok + bad).max().unwrap_or(0).max(1);
    recent
        .iter()
        .map(|&[ok, bad]| match (ok, bad) {
            (0, 0) => ' ',
            (0, _) => '!',
            _ => BARS[(((ok + bad) * 7) / most) as usize],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn a_sparkline_scales_to_the_busiest_minute_and_marks_failing_ones() {
        let minutes: Vec<[u64; 2]> =
            (0..60).map(|i| if i < 57 { [0, 0] } else { [[1, 0], [0, 3], [8, 0]][i - 57] }).collect();
        let line = sparkline(&minutes);
        assert_eq!(line.chars().count(), 30);
        assert!(line.ends_with("▁!█"), "{line}");
    }
}
