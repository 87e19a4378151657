//! A Redis namespace written by an earlier taskq (a hash per job,
//! `{ns}:job:<id>`, and per schedule entry) is converted by the first process
//! of this one that connects: its jobs are all there, whole, and run, and
//! beat's counts go on.

use crate::common::{Env, RedisConn, SOON, wait_until};

#[test]
fn jobs_stored_in_the_earlier_layout_are_converted_and_run() {
    let env = Env::redis().jobs(
        "[jobs.mark]\ncommand = \"echo $1 $2 >> @DIR@/marks\"\n[jobs.nightly]\ncommand = \"true\"\nschedule = \"0 3 * * *\"\n",
    );
    let ids: Vec<String> = (0..3).map(|i| env.enqueue(&["mark", &format!("job{i}"), "x y"])).collect();
    let ns = env.ns.clone();
    let port: u16 = env.broker.trim_start_matches("redis://127.0.0.1:").trim_end_matches("/0").parse().expect("port");
    let mut redis = RedisConn::connect(port).expect("connect");
    // Back to the earlier layout: each record as a hash of its own, no marker.
    for id in &ids {
        let unpack = "local r = cmsgpack.unpack(redis.call('HGET', KEYS[1], ARGV[1])) \
                      for k, v in pairs(r) do redis.call('HSET', KEYS[2], k, v) end \
                      redis.call('HDEL', KEYS[1], ARGV[1]) return 1";
        let (jobs, old) = (format!("{{{ns}}}:jobs"), format!("{{{ns}}}:job:{id}"));
        assert_eq!(redis.call(&["EVAL", unpack, "2", &jobs, &old, id]).expect("eval"), "1");
    }
    // Beat's state of an entry, as a hash of its own listed in a set.
    let old = format!("{{{ns}}}:schedule:nightly");
    let hset = ["HSET", &old, "last", "1795921200000", "spec", "0 3 * * * UTC", "fired", "7", "skipped", "2"];
    assert_eq!(redis.call(&hset).expect("hset"), "4");
    assert_eq!(redis.call(&["PEXPIRE", &old, "86400000"]).expect("pexpire"), "1");
    assert_eq!(redis.call(&["SADD", &format!("{{{ns}}}:schedules"), &old]).expect("sadd"), "1");
    assert_eq!(redis.call(&["DEL", &format!("{{{ns}}}:layout")]).expect("del"), "1");

    assert_eq!(env.state(&ids[0]), "queued", "the first process converts, then reads");
    assert_eq!(redis.call(&["EXISTS", &format!("{{{ns}}}:job:{}", ids[1])]).expect("exists"), "0");
    assert_eq!(redis.call(&["EXISTS", &old]).expect("exists"), "0");
    let inspect: serde_json::Value =
        serde_json::from_slice(&env.run(&["inspect", "--json"]).success().get_output().stdout).expect("json");
    let entry = &inspect["schedules"][0];
    assert_eq!(
        (entry["name"].as_str(), entry["fired"].as_u64(), entry["skipped"].as_u64()),
        (Some("nightly"), Some(7), Some(2))
    );
    let _worker = env.spawn(&["run"]);
    wait_until(SOON, "the three jobs to run", || env.lines("marks").len() == 3);
    let mut marks = env.lines("marks");
    marks.sort();
    assert_eq!(marks, ["job0 x y", "job1 x y", "job2 x y"]);
}
