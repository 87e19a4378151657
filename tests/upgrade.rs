//! A Redis namespace written by an earlier taskq is moved to this layout by
//! the first process of this one that connects: its jobs are all there,
//! whole, in their order, and run; a delayed job keeps its time; beat's
//! counts go on. Two earlier layouts: every key under `{ns}:` with each job
//! a field of `{ns}:jobs` (version 2), and before that a hash per job and
//! per schedule entry (version 1).

use crate::common::{Env, RedisConn, SOON, wait_until};

const JOBS: &str = "\
[jobs.mark]
command = \"echo $1 $2 >> @DIR@/marks\"
[jobs.later]
command = \"echo later >> @DIR@/marks\"
queue = \"later\"
[jobs.broken]
command = \"exit 3\"
queue = \"later\"
[jobs.nightly]
command = \"true\"
schedule = \"0 3 * * *\"
";

/// The earlier layout's keys for what this layout holds in the queues
/// given: the same structures under the namespace's tag, merged (what
/// version 2 kept).
const TO_VERSION_2: &str = "\
for q = 2, #ARGV do
  local from = '{' .. ARGV[1] .. '/' .. ARGV[q] .. '}:'
  local to = '{' .. ARGV[1] .. '}:'
  for _, name in ipairs({'jobs', 'entries'}) do
    local all = redis.call('HGETALL', from .. name)
    for i = 1, #all, 2 do redis.call('HSET', to .. name, all[i], all[i + 1]) end
    redis.call('DEL', from .. name)
  end
  for _, name in ipairs({'index', 'delayed', 'done', 'failed', 'leases'}) do
    local all = redis.call('ZRANGE', from .. name, 0, -1, 'WITHSCORES')
    for i = 1, #all, 2 do redis.call('ZADD', to .. name, all[i + 1], all[i]) end
    redis.call('DEL', from .. name)
  end
  if redis.call('EXISTS', from .. 'pending') == 1 then
    redis.call('RENAME', from .. 'pending', to .. 'pending:' .. ARGV[q])
  end
  redis.call('DEL', from .. 'known')
end
redis.call('SET', '{' .. ARGV[1] .. '}:layout', '2')
return 1";

/// Version 2 back to version 1: a hash per job and per entry, no marker.
const TO_VERSION_1: &str = "\
local jobs = redis.call('HGETALL', ARGV[1] .. 'jobs')
for i = 1, #jobs, 2 do
  for k, v in pairs(cmsgpack.unpack(jobs[i + 1])) do redis.call('HSET', ARGV[1] .. 'job:' .. jobs[i], k, v) end
end
local entries = redis.call('HGETALL', ARGV[1] .. 'entries')
for i = 1, #entries, 2 do
  local key = ARGV[1] .. 'schedule:' .. entries[i]
  for k, v in pairs(cmsgpack.unpack(entries[i + 1])) do redis.call('HSET', key, k, v) end
  redis.call('SADD', ARGV[1] .. 'schedules', key)
end
redis.call('DEL', ARGV[1] .. 'jobs', ARGV[1] .. 'entries', ARGV[1] .. 'layout')
return 1";

/// Enqueues three jobs and a delayed one on another queue, leaves a failed
/// one there, records a beat state, and turns the namespace back into
/// layout `version`; returns the three ids and the failed one's.
fn written_by_an_earlier_taskq(env: &Env, version: u8) -> (RedisConn, Vec<String>, String) {
    let broken = env.enqueue(&["broken"]);
    env.run(&["run", "--burst", "-Q", "later"]).success();
    assert_eq!(env.state(&broken), "failed");
    let ids: Vec<String> = (0..3).map(|i| env.enqueue(&["mark", &format!("job{i}"), "x y"])).collect();
    env.enqueue(&["later", "--delay", "2s"]);
    let mut redis = env.redis_conn();
    let (ns, queue) = (format!("{{{}}}:", env.ns), format!("{{{}/default}}:", env.ns));
    // Beat's state of an entry, as the earlier layouts kept it.
    let state = "return redis.call('HSET', KEYS[1], 'nightly', cmsgpack.pack({last = '1795921200000', \
                 spec = '0 3 * * * UTC', fired = '7', skipped = '2'}))";
    assert_eq!(redis.call(&["EVAL", state, "1", &format!("{queue}entries")]).expect("eval"), "1");
    assert_eq!(redis.call(&["EVAL", TO_VERSION_2, "0", &env.ns, "default", "later"]).expect("eval"), "1");
    if version == 1 {
        assert_eq!(redis.call(&["EVAL", TO_VERSION_1, "0", &ns]).expect("eval"), "1");
        assert_eq!(redis.call(&["EXISTS", &format!("{ns}job:{}", ids[1])]).expect("exists"), "1");
    }
    assert_eq!(redis.call(&["EXISTS", &format!("{queue}jobs")]).expect("exists"), "0");
    (redis, ids, broken)
}

fn moved_and_run(version: u8) {
    let env = Env::redis().jobs(JOBS);
    let (mut redis, ids, broken) = written_by_an_earlier_taskq(&env, version);
    assert_eq!(env.state(&ids[0]), "queued", "the first process moves, then reads");
    let ns = format!("{{{}}}:", env.ns);
    for gone in ["jobs", "index", "delayed", "pending:default", &format!("job:{}", ids[1])] {
        assert_eq!(redis.call(&["EXISTS", &format!("{ns}{gone}")]).expect("exists"), "0", "{gone} left behind");
    }
    let inspect: serde_json::Value =
        serde_json::from_slice(&env.run(&["inspect", "--json"]).success().get_output().stdout).expect("json");
    let entry = &inspect["schedules"][0];
    assert_eq!(
        (entry["name"].as_str(), entry["fired"].as_u64(), entry["skipped"].as_u64()),
        (Some("nightly"), Some(7), Some(2)),
        "beat's counts are read where they were"
    );
    let failed =
        env.run(&["list", "--state", "failed", "--queue", "later", "--json"]).success().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&failed).contains(&broken), "the failed job is in its queue's failed set");
    let _worker = env.spawn(&["run", "-c", "1", "-Q", "default,later"]);
    wait_until(SOON, "the four jobs to run", || env.lines("marks").len() == 4);
    assert_eq!(env.lines("marks"), ["job0 x y", "job1 x y", "job2 x y", "later"], "in their order, the delayed last");
}

/// A namespace a newer taskq moved on is not this version's to read.
#[test]
fn a_namespace_in_a_newer_layout_is_refused() {
    let env = Env::redis().jobs(JOBS);
    env.enqueue(&["mark", "a", "b"]);
    let mut redis = env.redis_conn();
    assert_eq!(redis.call(&["SET", &format!("{{{}}}:layout", env.ns), "4"]).expect("set"), "OK");
    let out = env.run(&["list"]).code(69).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("key layout 4, written by a newer taskq") && err.contains("upgrade taskq"), "{err}");
}

#[test]
fn jobs_stored_in_the_layout_with_one_slot_per_namespace_are_moved_to_their_queues_and_run() {
    moved_and_run(2);
}

#[test]
fn jobs_stored_as_a_hash_each_are_moved_to_their_queues_and_run() {
    moved_and_run(1);
}
