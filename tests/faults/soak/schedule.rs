//! When each fault strikes: the whole run's timeline, drawn up front from
//! the seed so that `TASKQ_SOAK_SEED` replays it. Striking them is `faults`.

use std::time::Duration;

use super::{PARTITION, REDIS_DOWN};
use crate::faults::chaos::Rng;

const KILL_EVERY: (Duration, Duration) = (Duration::from_secs(20), Duration::from_secs(40));
const SAMPLE_EVERY: Duration = Duration::from_secs(30);

/// What the storm of faults does, at an offset from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Event {
    Sample,
    Kill,
    RedisStop,
    RedisStart,
    Pause,
    Resume,
}

/// The faults and samples of a run of `load`, in time order.
pub(super) fn timeline(load: Duration, rng: &mut Rng) -> Vec<(Duration, Event)> {
    let mut events: Vec<(Duration, Event)> = Vec::new();
    let mut at = SAMPLE_EVERY;
    while at <= load {
        events.push((at, Event::Sample));
        at += SAMPLE_EVERY;
    }
    let mut at = rng.between(KILL_EVERY.0, KILL_EVERY.1);
    while at + Duration::from_secs(10) < load {
        events.push((at, Event::Kill));
        at += rng.between(KILL_EVERY.0, KILL_EVERY.1);
    }
    let crash = load * 35 / 100;
    events.extend([(crash, Event::RedisStop), (crash + REDIS_DOWN, Event::RedisStart)]);
    let partition = load * 65 / 100;
    // A pause may wait for a slow run first: the resume counts from the pause.
    events.extend([(partition, Event::Pause), (partition + PARTITION, Event::Resume)]);
    events.sort();
    events
}
