//! Capped exponential backoff, for every loop that retries the broker (the
//! worker's fetch, recording an outcome, lease renewal, beat, the wake-up
//! subscription, connecting): one rule, so an outage is met the same way
//! everywhere and a recovered broker is not hammered by every process at once.

use std::time::Duration;

/// Pauses that double from `first` up to `max`, each spread by ±20% so that
/// many processes retrying after one outage do not march in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    current: Option<Duration>,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff { first, max: max.max(first), current: None }
    }

    /// The pause before the next attempt.
    pub fn pause(&mut self) -> Duration {
        let base = match self.current {
            None => self.first,
            Some(d) => (d * 2).min(self.max),
        };
        self.current = Some(base);
        let spread = rand::random_range(0.8..=1.2);
        base.mul_f64(spread).min(self.max)
    }

    /// After a success: the next failure starts from `first` again.
    pub fn reset(&mut self) {
        self.current = None;
    }

    /// Whether a failure was seen since the last reset.
    pub fn is_failing(&self) -> bool {
        self.current.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap_and_restart_after_a_reset() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let bases: Vec<Duration> = (0..6)
            .map(|_| {
                let d = b.pause();
                assert!(d <= Duration::from_secs(1));
                b.current.unwrap()
            })
            .collect();
        let ms: Vec<u128> = bases.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000]);
        assert!(b.is_failing());
        b.reset();
        assert!(!b.is_failing());
        let d = b.pause();
        assert!(d >= Duration::from_millis(80) && d <= Duration::from_millis(120), "{d:?}");
    }
}
