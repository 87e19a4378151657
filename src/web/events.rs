//! Server-sent events: `GET /api/v1/events`, the state changes of recent
//! jobs, and `GET /api/v1/jobs/{id}/output`, one job's output as it runs.
//!
//! The broker has no change feed to subscribe to, so one task reads the
//! newest jobs every second while anybody listens and hands each read to
//! every listener, which compares it with what it last knew; a job's output is read as `taskq logs -f` reads it
//! (workers publish it every second).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{ApiError, Web};
use crate::broker::ListFilter;
use crate::job::{JobId, JobRecord, JobState};

/// How often the newest jobs are read while somebody listens.
const EVERY: Duration = Duration::from_secs(1);
/// How many of the newest jobs are watched for changes.
const WATCHED: usize = 500;
/// How often a job's output is read.
const OUTPUT_EVERY: Duration = Duration::from_millis(500);

/// The newest jobs as read each round, for every listener; closed when
/// taskq web stops, so that open streams end and do not hold the stop up.
pub struct Feed {
    rounds: broadcast::Sender<Arc<Round>>,
    closed: CancellationToken,
}

impl Default for Feed {
    fn default() -> Self {
        Feed { rounds: broadcast::channel(16).0, closed: CancellationToken::new() }
    }
}

/// One read of the newest jobs: each with what tells a change, and the
/// event it is sent as.
type Round = Vec<(JobId, (JobState, u32), Arc<str>)>;

fn read(jobs: &[JobRecord]) -> Round {
    jobs.iter()
        .map(|r| {
            let event = json!({
                "id": r.job.id.to_string(),
                "job": r.job.job.as_str(),
                "queue": r.job.queue.as_str(),
                "state": r.state,
                "attempts": r.attempts,
            });
            (r.job.id, (r.state, r.attempts), event.to_string().into())
        })
        .collect()
}

fn newest() -> ListFilter {
    ListFilter { limit: WATCHED, ..ListFilter::default() }
}

/// Reads the newest jobs every second while anybody listens, until `stop`.
pub(crate) async fn watch(web: Arc<Web>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(EVERY) => {}
        }
        if web.events.rounds.receiver_count() == 0 {
            continue;
        }
        match web.broker.list(&newest()).await {
            // No listener left is no error: the next round rests.
            Ok(jobs) => drop(web.events.rounds.send(Arc::new(read(&jobs)))),
            Err(e) => tracing::warn!(error = %e, "cannot read the newest jobs for /api/v1/events"),
        }
    }
    web.events.closed.cancel();
}

/// One listener: what it knows of each job, and the events to send.
struct Listener {
    rounds: broadcast::Receiver<Arc<Round>>,
    closed: CancellationToken,
    known: HashMap<JobId, (JobState, u32)>,
    pending: std::collections::VecDeque<Event>,
}

/// `GET /api/v1/events`: an event `job` (`{"id","job","queue","state",
/// "attempts"}`) for each change among the newest 500 jobs after the
/// stream opened (a job enqueued since included), read every second; a
/// comment every 15 s keeps proxies from closing the stream.
pub(crate) async fn jobs(State(web): State<Arc<Web>>) -> Result<Response, ApiError> {
    // Subscribed before the first read: no round between is missed.
    let rounds = web.events.rounds.subscribe();
    let first = web.broker.list(&newest()).await?;
    let listener = Listener {
        rounds,
        closed: web.events.closed.clone(),
        known: read(&first).into_iter().map(|(id, state, _)| (id, state)).collect(),
        pending: std::collections::VecDeque::new(),
    };
    let stream = futures_util::stream::unfold(listener, |mut l| async move {
        loop {
            if let Some(event) = l.pending.pop_front() {
                return Some((Ok::<_, Infallible>(event), l));
            }
            let received = tokio::select! {
                () = l.closed.cancelled() => return None,
                r = l.rounds.recv() => r,
            };
            match received {
                Ok(round) => {
                    for (id, state, event) in round.iter() {
                        if l.known.insert(*id, *state) != Some(*state) {
                            l.pending.push_back(Event::default().event("job").data(&**event));
                        }
                    }
                    // Jobs no longer among the newest are forgotten.
                    if l.known.len() > 2 * WATCHED {
                        let current: std::collections::HashSet<JobId> = round.iter().map(|(id, _, _)| *id).collect();
                        l.known.retain(|id, _| current.contains(id));
                    }
                }
                // Too slow a reader missed some rounds: say so, go on.
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    l.pending.push_back(Event::default().event("lagged").data(n.to_string()));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// Where a job's output stream is.
struct Following {
    web: Arc<Web>,
    id: JobId,
    attempt: Option<u32>,
    sent: u64,
    state: Option<JobState>,
    /// Events read and not yet sent.
    pending: std::collections::VecDeque<Event>,
    ended: bool,
}

/// `GET /api/v1/jobs/{id}/output`: events `output` (a JSON string: output
/// new since the last), `attempt` (a new attempt starts, its output afresh),
/// `state` (`{"state","attempts","exit_code","error"}` when it changes),
/// and `end` once the job has ended; 404 for an unknown id.
pub(crate) async fn output(State(web): State<Arc<Web>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = super::api::job_id(&web, &id).await?;
    if web.broker.get(&[id]).await?.pop().flatten().is_none() {
        return Err(ApiError(axum::http::StatusCode::NOT_FOUND, crate::exit::unknown_ids(&[id]).0));
    }
    let closed = web.events.closed.clone();
    let start = Following {
        web,
        id,
        attempt: None,
        sent: 0,
        state: None,
        pending: std::collections::VecDeque::new(),
        ended: false,
    };
    let stream = futures_util::stream::unfold((start, true), move |(mut f, first)| {
        let closed = closed.clone();
        async move {
            loop {
                if let Some(event) = f.pending.pop_front() {
                    return Some((Ok::<_, Infallible>(event), (f, false)));
                }
                if f.ended {
                    return None;
                }
                if !first || f.state.is_some() {
                    tokio::select! {
                        () = closed.cancelled() => return None,
                        () = tokio::time::sleep(OUTPUT_EVERY) => {}
                    }
                }
                f.read().await;
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

impl Following {
    /// Reads the job once and queues what is new.
    async fn read(&mut self) {
        let record = match self.web.broker.get(&[self.id]).await {
            Ok(mut r) => r.pop().flatten(),
            // A broker that does not answer now may answer next time.
            Err(_) => return,
        };
        let Some(r) = record else {
            // Its record expired (or the job was purged) while we watched.
            self.pending.push_back(Event::default().event("end").data("gone"));
            self.ended = true;
            return;
        };
        if self.attempt != Some(r.attempts) {
            if self.attempt.is_some() {
                self.pending.push_back(Event::default().event("attempt").data(r.attempts.to_string()));
            }
            self.attempt = Some(r.attempts);
            self.sent = 0;
        }
        let tail = r.output.as_deref().unwrap_or_default();
        let total = r.output_total.max(tail.len() as u64);
        if total > self.sent {
            let new = (total - self.sent).min(tail.len() as u64) as usize;
            // The tail is whole characters; a cut inside one is moved to
            // the next boundary.
            let mut from = tail.len() - new;
            while !tail.is_char_boundary(from) {
                from += 1;
            }
            if let Ok(event) = Event::default().event("output").json_data(&tail[from..]) {
                self.pending.push_back(event);
            }
            self.sent = total;
        }
        if self.state != Some(r.state) {
            self.state = Some(r.state);
            let data = json!({ "state": r.state, "attempts": r.attempts, "exit_code": r.exit_code, "error": r.error });
            self.pending.push_back(Event::default().event("state").data(data.to_string()));
        }
        if r.state.is_final() {
            self.pending.push_back(Event::default().event("end").data(r.state.to_string()));
            self.ended = true;
        }
    }
}
