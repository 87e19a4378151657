//! Several slots' finishes in one script call. A worker with many slots on
//! one queue (HTTP jobs at `-c 64`) ends jobs faster than Redis answers one
//! finish call per job: each call costs the server its dispatch, the
//! scripts' prelude, its keys and the bounds, some 9 µs of the 43 µs a job
//! cost it (BENCHMARKS.md, seventh pass), and Redis's one core was the
//! drain's limit. So at most `IN_FLIGHT` finish calls of a queue are under
//! way at once; a finish made meanwhile waits, and the next call carries
//! every finish that waited (up to `MOST`). A finish when fewer calls are
//! under way goes out at once, alone, as before, written straight into its
//! command: a lightly loaded worker waits for nothing.
//!
//! Each finish takes the next job for its own slot only, so SPEC §4's "no
//! prefetch" holds: a call carries finishes, never a job no slot runs. Each
//! is recorded, or reported lost, as it would be alone, with the time it
//! waited here added to how long ago its attempt ended; an error of one
//! (a damaged record) is its own; asked again after a lost reply, it
//! answers the same (finish.lua).

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::oneshot;

use super::fields::ms;
use super::{RedisBroker, SCRIPTS, lock};
use crate::broker::BrokerError;

/// Finish calls of one queue under way at once: two keep the server busy
/// with the next while the worker reads the last one's reply.
const IN_FLIGHT: usize = 2;

/// Finishes one call carries at most. Each may step past a bounded pile of
/// expired or waiting jobs (call.rs); finish.lua leaves the rest of a call
/// to the next once its steps pass one take's bound, so a call takes at
/// most about two takes' bounds of steps (a millisecond or two of the
/// server's time) behind such a pile.
const MOST: usize = 16;

/// Bytes of outcomes one call carries at most, beyond the first: each may
/// hold an output tail of up to 64 KiB, which the script decodes and
/// stores, and the server serves no one else meanwhile.
const MOST_BYTES: usize = 256 * 1024;

/// Per queue, the finish calls under way and the finishes waiting for one.
/// (A std mutex: held for a few pushes and pops, never across an await.)
#[derive(Default)]
pub(super) struct Finishes {
    lines: std::sync::Mutex<HashMap<String, Line>>,
}

#[derive(Default)]
struct Line {
    flying: usize,
    waiting: VecDeque<Waiting>,
}

impl Line {
    /// Whether a call is free, taking it if so.
    fn board(&mut self) -> bool {
        let free = self.flying < IN_FLIGHT;
        if free {
            self.flying += 1;
        }
        free
    }
}

/// A finish waiting for a call: its argument (finish.lua's, as JSON), when
/// it began to wait, and where its turn comes.
struct Waiting {
    arg: Vec<u8>,
    since: Instant,
    turn: oneshot::Sender<Turn>,
}

enum Turn {
    /// Another finish's call carried this one: its part of the reply.
    Done(Result<redis::Value, BrokerError>),
    /// A call is free: make it, with this finish (its argument and wait)
    /// and the others given.
    Lead(Vec<u8>, Instant, Vec<Waiting>),
}

/// The finish a call is made for: still to be written, or written while
/// it waited.
enum Own<'a, T> {
    Fresh(&'a T),
    Waited(Vec<u8>, Instant),
}

impl Finishes {
    /// Records the finish `outcome` (finish.lua's argument) on `queue`, in
    /// a call of its own or with others; its part of finish.lua's reply.
    pub(super) async fn call<T: Serialize>(
        &self,
        b: &RedisBroker,
        queue: &str,
        outcome: &T,
    ) -> Result<redis::Value, BrokerError> {
        if self.take_off(queue) {
            return self.fly(b, queue, Own::Fresh(outcome), Vec::new()).await;
        }
        let arg = serde_json::to_vec(outcome).map_err(|e| BrokerError::Protocol(format!("finish: {e}")))?;
        let since = Instant::now();
        let waited = {
            let mut lines = lock(&self.lines);
            let line = lines.entry(queue.to_string()).or_default();
            // A call may have landed while the outcome was written.
            if line.board() {
                Err(arg)
            } else {
                let (turn, rx) = oneshot::channel();
                line.waiting.push_back(Waiting { arg, since, turn });
                Ok(rx)
            }
        };
        let rx = match waited {
            Ok(rx) => rx,
            Err(arg) => return self.fly(b, queue, Own::<T>::Waited(arg, since), Vec::new()).await,
        };
        let mut wait = Wait { finishes: self, queue, rx };
        match (&mut wait.rx).await {
            Ok(Turn::Done(reply)) => reply,
            Ok(Turn::Lead(arg, since, others)) => self.fly(b, queue, Own::<T>::Waited(arg, since), others).await,
            // The call that carried it was given up (its caller's future
            // dropped): not known to be recorded, so asked again.
            Err(_) => Err(BrokerError::Unavailable {
                url: b.url.to_string(),
                reason: "the call carrying this outcome was given up".into(),
                hint: "the outcome is sent again",
            }),
        }
    }

    /// Whether a call of `queue` is free, taking it if so.
    fn take_off(&self, queue: &str) -> bool {
        let mut lines = lock(&self.lines);
        // (the queue's name is copied only the first time)
        match lines.get_mut(queue) {
            Some(line) => line.board(),
            None => lines.entry(queue.to_string()).or_default().board(),
        }
    }

    /// One call with `own` and `others`' finishes; the next waiting ones
    /// go when it lands (or is given up), first among them any this call
    /// left for the next.
    async fn fly<T: Serialize>(
        &self,
        b: &RedisBroker,
        queue: &str,
        own: Own<'_, T>,
        mut others: Vec<Waiting>,
    ) -> Result<redis::Value, BrokerError> {
        let mut landing = Landing { finishes: self, queue, left: Vec::new() };
        // Given up since it was handed to this call: not sent.
        others.retain(|w| !w.turn.is_closed());
        let mut call = b.script(&SCRIPTS.finish, queue);
        match own {
            Own::Fresh(outcome) => {
                call.arg(0).arg_json(outcome).map_err(|e| BrokerError::Protocol(format!("finish: {e}")))?;
            }
            Own::Waited(arg, since) => {
                call.arg(ms(since.elapsed())).arg(arg.as_slice());
            }
        }
        for w in &others {
            call.arg(ms(w.since.elapsed())).arg(w.arg.as_slice());
        }
        let replies: Result<Vec<redis::Value>, BrokerError> = b.link.invoke(&call).await;
        let replies = replies.and_then(|r| {
            if (1..=1 + others.len()).contains(&r.len()) {
                Ok(r)
            } else {
                Err(BrokerError::Protocol(format!("finish: {} replies to {} outcomes", r.len(), 1 + others.len())))
            }
        });
        match replies {
            Ok(replies) => {
                let mut replies = replies.into_iter();
                let own = replies.next().unwrap_or(redis::Value::Nil);
                let mut others = others.into_iter();
                // (replies first: a waiting finish is taken only for a reply)
                for (reply, w) in replies.zip(others.by_ref()) {
                    // (one given up meanwhile has nobody to tell)
                    let _ = w.turn.send(Turn::Done(Ok(reply)));
                }
                landing.left = others.collect();
                drop(landing);
                Ok(own)
            }
            Err(e) => {
                drop(landing);
                for w in others {
                    let _ = w.turn.send(Turn::Done(Err(e.clone())));
                }
                Err(e)
            }
        }
    }

    /// A call of `queue` landed or was given up, or a finish told to make
    /// the next one was given up: the finishes `returned` (ones a call did
    /// not reach, or was to carry) go first, and the next call is led by
    /// the first of the waiting ones still wanted.
    fn hand_on(&self, queue: &str, returned: Vec<Waiting>) {
        let mut lines = lock(&self.lines);
        let Some(line) = lines.get_mut(queue) else { return };
        for w in returned.into_iter().rev() {
            line.waiting.push_front(w);
        }
        // Given up while waiting: not sent (its take would lease a job to a
        // grant nobody asks again).
        line.waiting.retain(|w| !w.turn.is_closed());
        loop {
            let Some(first) = line.waiting.pop_front() else {
                line.flying = line.flying.saturating_sub(1);
                return;
            };
            let (mut n, mut bytes) = (0, first.arg.len());
            while let Some(w) = line.waiting.get(n)
                && n + 1 < MOST
                && bytes + w.arg.len() <= MOST_BYTES
            {
                bytes += w.arg.len();
                n += 1;
            }
            let others: Vec<Waiting> = line.waiting.drain(..n).collect();
            match first.turn.send(Turn::Lead(first.arg, first.since, others)) {
                Ok(()) => return,
                // Given up just now: the others wait for the next.
                Err(Turn::Lead(_, _, others)) => {
                    for w in others.into_iter().rev() {
                        line.waiting.push_front(w);
                    }
                }
                Err(Turn::Done(_)) => {}
            }
        }
    }
}

/// Hands a queue's call on when dropped: when it lands, and also when the
/// future making it is dropped, so the finishes waiting never wait forever.
struct Landing<'a> {
    finishes: &'a Finishes,
    queue: &'a str,
    /// Finishes the call did not reach: first in the next.
    left: Vec<Waiting>,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        self.finishes.hand_on(self.queue, std::mem::take(&mut self.left));
    }
}

/// A finish waiting for its turn. Dropped after it was told to make the
/// next call but before making it, it hands that call on with the
/// finishes it was to carry.
struct Wait<'a> {
    finishes: &'a Finishes,
    queue: &'a str,
    rx: oneshot::Receiver<Turn>,
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        // Closed first, so no turn can come after the look (tokio's way).
        self.rx.close();
        if let Ok(Turn::Lead(_, _, others)) = self.rx.try_recv() {
            self.finishes.hand_on(self.queue, others);
        }
    }
}
