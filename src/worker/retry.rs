//! What happens after an attempt: success, a retry after backoff, or the
//! failed set. Pure functions of the job's policy and the outcome (hooks are
//! attached afterwards, in hooks.rs).

use std::time::Duration;

use crate::broker::{AttemptResult, Finish};
use crate::config::{JobDef, RetryPolicy};
use crate::job::{Outcome, RunStatus};

/// The transition for `outcome` of attempt number `attempt` of `def`; a
/// retry is due one backoff after the attempt ended (by the broker's clock).
pub fn decide(def: &JobDef, attempt: u32, outcome: &Outcome) -> Finish {
    let result = result_of(outcome);
    if outcome.succeeded() {
        return Finish::Succeeded { result, ttl: def.result_ttl, ignore_result: def.ignore_result, hook: None };
    }
    if outcome.retryable && attempt <= def.retry.retries {
        let delay = backoff(&def.retry, attempt, outcome.retry_after());
        return Finish::Retry { result, delay };
    }
    Finish::Failed { result, hook: None }
}

/// What an outcome leaves in the job's record.
pub fn result_of(outcome: &Outcome) -> AttemptResult {
    AttemptResult {
        duration: (outcome.status != RunStatus::NotStarted).then(|| outcome.duration()),
        ended_ago: Duration::ZERO,
        exit_code: outcome.exit_code(),
        http_status: outcome.http_status(),
        error: outcome.error.clone(),
        output: String::from_utf8_lossy(&outcome.output).into_owned(),
        output_total: outcome.output_total,
        stdout: outcome.stdout.as_ref().map(|(out, total)| (String::from_utf8_lossy(out).into_owned(), *total)),
    }
}

/// The delay before the retry after attempt `attempt` (1-based): exponential
/// from `delay`, capped at `delay_max`, with full jitter when asked; an HTTP
/// `Retry-After` replaces it (still capped).
pub fn backoff(policy: &RetryPolicy, attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(after) = retry_after {
        return after.min(policy.delay_max);
    }
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    let delay = policy.delay.checked_mul(factor).unwrap_or(policy.delay_max).min(policy.delay_max);
    if policy.jitter {
        Duration::from_millis(rand::random_range(0..=u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)))
    } else {
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::RunStatus;

    fn policy(jitter: bool) -> RetryPolicy {
        RetryPolicy { retries: 5, delay: Duration::from_secs(10), delay_max: Duration::from_secs(60), jitter }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = policy(false);
        let got: Vec<u64> = (1..=5).map(|a| backoff(&p, a, None).as_secs()).collect();
        assert_eq!(got, [10, 20, 40, 60, 60]);
        assert_eq!(backoff(&p, 100, None), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_within_the_exponential_bound() {
        let p = policy(true);
        for _ in 0..1000 {
            assert!(backoff(&p, 2, None) <= Duration::from_secs(20));
        }
    }

    fn def(retries: u32) -> JobDef {
        let toml = format!("[jobs.j]\ncommand = \"true\"\nretries = {retries}\nretry_delay = \"10s\"\n");
        let config = crate::config::Config::parse(std::path::Path::new("jobs.toml"), &toml).unwrap();
        config.job("j").unwrap().clone()
    }

    fn outcome(status: RunStatus, retryable: bool) -> Outcome {
        let mut o = Outcome::not_started("x");
        o.status = status;
        o.retryable = retryable;
        o
    }

    #[test]
    fn timeouts_and_retryable_failures_are_retried_while_retries_remain() {
        let d = def(2);
        for attempt in [1, 2] {
            let o = outcome(RunStatus::TimedOut, true);
            match decide(&d, attempt, &o) {
                Finish::Retry { delay, .. } => assert_eq!(delay, backoff(&d.retry, attempt, None)),
                other => panic!("attempt {attempt}: {other:?}"),
            }
        }
        assert!(matches!(decide(&d, 3, &outcome(RunStatus::TimedOut, true)), Finish::Failed { .. }));
        assert!(matches!(decide(&d, 1, &outcome(RunStatus::Failed, false)), Finish::Failed { .. }));
        assert!(matches!(decide(&def(0), 1, &outcome(RunStatus::Failed, true)), Finish::Failed { .. }));
        assert!(matches!(decide(&d, 1, &outcome(RunStatus::Succeeded, false)), Finish::Succeeded { .. }));
    }

    #[test]
    fn retry_after_replaces_the_delay_but_not_the_cap() {
        let p = policy(false);
        assert_eq!(backoff(&p, 1, Some(Duration::from_secs(2))), Duration::from_secs(2));
        assert_eq!(backoff(&p, 1, Some(Duration::from_secs(600))), Duration::from_secs(60));
    }
}
