//! What jobs cost Redis in script calls: a worker does not ask a queue it
//! found empty again until a message names that queue (wake.rs), whichever
//! call found it empty, a take's or a finish's.

use std::time::Duration;

use taskq::broker::{Broker, Lease, Take};
use taskq::names::QueueName;

use crate::common::redis::command_calls;
use crate::common::{Env, RedisConn};
use crate::conformance::cases::{LEASE, job, succeeded, take};

/// Script calls the server has answered so far.
fn script_calls(redis: &mut RedisConn) -> u64 {
    command_calls(&redis.call(&["INFO", "commandstats"]).expect("INFO"), "evalsha").unwrap_or(0)
}

/// Waits until the worker has heard a message (or its subscription came up).
async fn heard(broker: &dyn Broker, queues: &[QueueName]) {
    broker.wait_for_jobs(queues, Duration::from_secs(10)).await.expect("wait");
}

// A worker serving "first" then "second": the finish of first's last job
// takes in the same call, finds first empty, then asks second. Neither is
// asked again until a job comes, and then only the queue that has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_a_finish_found_empty_is_not_asked_again_until_a_job_comes() {
    let env = Env::redis();
    let mut redis = env.redis_conn();
    let broker = env.connect().await;
    let queues = [QueueName::new("first").unwrap(), QueueName::new("second").unwrap()];
    // The first take starts the subscription; found empty before it is up,
    // the queues are asked again.
    assert!(take(broker.as_ref(), &["first", "second"], "w", LEASE).await.is_none());
    heard(broker.as_ref(), &queues).await;

    broker.enqueue(&[job("j", "first")]).await.unwrap();
    heard(broker.as_ref(), &queues).await;
    let lease: Lease = take(broker.as_ref(), &["first", "second"], "w", LEASE).await.expect("the job");
    let next = Take { queues: &queues, worker: "w", lease: LEASE, grant: "after" };
    let done = broker.finish(&lease.token(), succeeded(), Some(next)).await.expect("finished");
    assert!(done.recorded && done.next.is_none(), "nothing left to take");

    let before = script_calls(&mut redis);
    assert!(take(broker.as_ref(), &["first", "second"], "w", LEASE).await.is_none());
    assert_eq!(script_calls(&mut redis), before, "both queues were found empty: neither is asked");

    broker.enqueue(&[job("k", "second")]).await.unwrap();
    heard(broker.as_ref(), &queues).await;
    let before = script_calls(&mut redis);
    let lease = take(broker.as_ref(), &["first", "second"], "w", LEASE).await.expect("the second queue's job");
    assert_eq!(lease.job.queue.as_str(), "second");
    assert_eq!(script_calls(&mut redis), before + 1, "only the queue a message named is asked");
}
