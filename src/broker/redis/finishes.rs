//! Several slots' finishes in one script call. A worker with many slots on
//! one queue (HTTP jobs at `-c 64`) ends jobs faster than Redis answers one
//! finish call per job: each call costs the server its dispatch, the
//! scripts' prelude, its keys and the bounds, some 9 µs of the 43 µs a job
//! cost it (BENCHMARKS.md, seventh pass), and Redis's one core was the
//! drain's limit. So at most `IN_FLIGHT` finish calls of a queue are under
//! way at once; a finish made meanwhile waits, and the next call carries
//! every finish that waited (up to `MOST`). A finish when fewer calls are
//! under way goes out at once, alone, as before: a lightly loaded worker
//! waits for nothing.
//!
//! Each finish takes the next job for its own slot only, so SPEC §4's "no
//! prefetch" holds: a call carries finishes, never a job no slot runs. Each
//! is recorded, or reported lost, as it would be alone; asked again after
//! a lost reply, it answers the same (finish.lua).

use std::collections::{HashMap, VecDeque};

use tokio::sync::oneshot;

use super::{RedisBroker, SCRIPTS, lock};
use crate::broker::BrokerError;

/// Finish calls of one queue under way at once: two keep the server busy
/// with the next while the worker reads the last one's reply.
const IN_FLIGHT: usize = 2;

/// Finishes one call carries at most: each may take a job behind a bounded
/// pile of expired or waiting ones (call.rs), and a script runs alone on
/// the server, so the call stays near a millisecond even then.
const MOST: usize = 16;

/// Per queue, the finish calls under way and the finishes waiting for one.
#[derive(Default)]
pub(super) struct Finishes {
    lines: std::sync::Mutex<HashMap<String, Line>>,
}

#[derive(Default)]
struct Line {
    flying: usize,
    waiting: VecDeque<Waiting>,
}

/// A finish waiting for a call: its argument (finish.lua's, as JSON), and
/// where its turn comes.
struct Waiting {
    arg: Vec<u8>,
    turn: oneshot::Sender<Turn>,
}

enum Turn {
    /// Another finish's call carried this one: its part of the reply.
    Done(Result<redis::Value, BrokerError>),
    /// A call is free: make it, with this finish and the others given.
    Lead(Vec<u8>, Vec<Waiting>),
}

impl Finishes {
    /// Records the finish `arg` on `queue`, in a call of its own or with
    /// others; its part of finish.lua's reply.
    pub(super) async fn call(&self, b: &RedisBroker, queue: &str, arg: Vec<u8>) -> Result<redis::Value, BrokerError> {
        let waiting = {
            let mut lines = lock(&self.lines);
            let line = match lines.get_mut(queue) {
                Some(line) => line,
                None => lines.entry(queue.to_string()).or_default(),
            };
            if line.flying < IN_FLIGHT {
                line.flying += 1;
                Err(arg)
            } else {
                let (turn, rx) = oneshot::channel();
                line.waiting.push_back(Waiting { arg, turn });
                Ok(rx)
            }
        };
        match waiting {
            Err(arg) => self.fly(b, queue, arg, Vec::new()).await,
            Ok(rx) => match (&mut Wait { finishes: self, queue, rx }.rx).await {
                Ok(Turn::Done(reply)) => reply,
                Ok(Turn::Lead(arg, others)) => self.fly(b, queue, arg, others).await,
                // The call that carried it was given up (its caller's future
                // dropped): not known to be recorded, so asked again.
                Err(_) => Err(BrokerError::Unavailable {
                    url: b.url.to_string(),
                    reason: "the call carrying this outcome was given up".into(),
                    hint: "the outcome is sent again",
                }),
            },
        }
    }

    /// One call with `own` and `others`' finishes; the next waiting ones
    /// go when it lands (or is given up).
    async fn fly(
        &self,
        b: &RedisBroker,
        queue: &str,
        own: Vec<u8>,
        others: Vec<Waiting>,
    ) -> Result<redis::Value, BrokerError> {
        let landing = Landing { finishes: self, queue };
        let mut call = b.script(&SCRIPTS.finish, queue);
        call.arg(own.as_slice());
        for w in &others {
            call.arg(w.arg.as_slice());
        }
        let replies: Result<Vec<redis::Value>, BrokerError> = b.link.invoke(&call).await;
        drop(landing);
        let replies = replies.and_then(|r| {
            if r.len() == 1 + others.len() {
                Ok(r)
            } else {
                Err(BrokerError::Protocol(format!("finish: {} replies to {} outcomes", r.len(), 1 + others.len())))
            }
        });
        match replies {
            Ok(replies) => {
                let mut replies = replies.into_iter();
                let own = replies.next().unwrap_or(redis::Value::Nil);
                for (w, reply) in others.into_iter().zip(replies) {
                    // (one given up meanwhile has nobody to tell)
                    let _ = w.turn.send(Turn::Done(Ok(reply)));
                }
                Ok(own)
            }
            Err(e) => {
                for w in others {
                    let _ = w.turn.send(Turn::Done(Err(e.clone())));
                }
                Err(e)
            }
        }
    }

    /// A call of `queue` landed or was given up (or a finish told to make
    /// the next one was, and gives back `returned`, the finishes it was to
    /// carry): the finishes waiting go in the next, led by the first of them
    /// still waiting.
    fn hand_on(&self, queue: &str, returned: Vec<Waiting>) {
        let mut lines = lock(&self.lines);
        let Some(line) = lines.get_mut(queue) else { return };
        for w in returned.into_iter().rev() {
            line.waiting.push_front(w);
        }
        loop {
            let Some(first) = line.waiting.pop_front() else {
                line.flying = line.flying.saturating_sub(1);
                return;
            };
            let n = line.waiting.len().min(MOST - 1);
            let others: Vec<Waiting> = line.waiting.drain(..n).collect();
            match first.turn.send(Turn::Lead(first.arg, others)) {
                Ok(()) => return,
                // Its finish was given up: the others wait for the next.
                Err(Turn::Lead(_, others)) => {
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
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        self.finishes.hand_on(self.queue, Vec::new());
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
        if let Ok(Turn::Lead(_, others)) = self.rx.try_recv() {
            self.finishes.hand_on(self.queue, others);
        }
    }
}
