//! Redis's rule for scripts: every key a script touches is given to it in
//! KEYS (Redis Cluster routes and guards a script by them; servers and
//! proxies that enforce the rule refuse anything else). The rule as the
//! scripts keep it: a key argument of `redis.call` is written `KEYS[n]`,
//! `K.name` for a table `K` built from KEYS, or the name of a local set
//! from KEYS (`local JOBS = KEYS[2]`).
//!
//! The scripts do not keep it yet: they build most key names from a prefix
//! (docs/cluster-layout.md, step 1, changes that). Until then the test holds
//! the list of places that break it, so that none is added; each place fixed
//! is taken off the list, which ends empty.

use std::collections::BTreeMap;
use std::path::Path;

/// The arguments of `cmd` that are keys: their positions after the command
/// name (0-based), or `None` for all of them; commands without keys: empty.
fn key_positions(cmd: &str) -> Option<&'static [usize]> {
    match cmd {
        "TIME" | "PUBLISH" => Some(&[]),
        "DEL" | "EXISTS" => None,
        _ => Some(&[0]),
    }
}

/// The places in `script` where a key is not written as declared:
/// (line, the command, the key's text).
fn undeclared(script: &str, prepended: &str) -> Vec<(usize, String, String)> {
    let aliases: Vec<&str> = prepended
        .lines()
        .chain(script.lines())
        .filter_map(|l| l.trim().strip_prefix("local ")?.split_once(" = KEYS["))
        .map(|(name, _)| name.trim())
        .collect();
    let mut found = Vec::new();
    for (n, line) in script.lines().enumerate() {
        let code = line.split("--").next().unwrap_or_default();
        for (at, _) in code.match_indices("redis.call(").chain(code.match_indices("redis.pcall(")) {
            let args = &code[code[at..].find('(').map_or(at, |p| at + p + 1)..];
            let args = split_args(args);
            let Some(cmd) = args.first().map(|c| c.trim_matches(['\'', '"']).to_uppercase()) else { continue };
            let keys: Vec<&String> = match key_positions(&cmd) {
                Some(positions) => positions.iter().filter_map(|&p| args.get(p + 1)).collect(),
                None => args.iter().skip(1).collect(),
            };
            for key in keys {
                if !is_declared(key) && !aliases.contains(&key.trim()) {
                    found.push((n + 1, cmd.clone(), key.clone()));
                }
            }
        }
    }
    found
}

/// `KEYS[1]`, `KEYS[i]`, `K.pending`.
fn is_declared(key: &str) -> bool {
    let key = key.trim();
    let keys_index = key.strip_prefix("KEYS[").and_then(|r| r.strip_suffix(']')).is_some_and(|i| {
        !i.is_empty() && i.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '+' || c == ' ')
    });
    let field =
        key.strip_prefix("K.").is_some_and(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    keys_index || field
}

/// The arguments of a call, up to its closing parenthesis, split at the
/// commas outside nested parentheses, brackets and strings.
fn split_args(text: &str) -> Vec<String> {
    let (mut args, mut current, mut depth, mut quote) = (Vec::new(), String::new(), 0, None);
    for c in text.chars() {
        if let Some(q) = quote {
            // Inside a string: only its closing quote matters.
            if c == q {
                quote = None;
            }
        } else {
            match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' if depth == 0 => break,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    args.push(current.trim().to_string());
                    current.clear();
                    continue;
                }
                _ => {}
            }
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        args.push(current.trim().to_string());
    }
    args
}

#[test]
fn the_checker_tells_declared_keys_from_built_ones() {
    let script = "\
local K = {pending = KEYS[1]}
local JOBS = KEYS[4]
redis.call('HGET', JOBS, id)
redis.call('RPUSH', K.pending, id)
redis.call('HSET', KEYS[2], 'state', 'queued')
redis.call('HMGET', p .. 'job:' .. id, 'state') -- built from a prefix
redis.call('DEL', KEYS[3], p .. 'grant:' .. g)
redis.pcall('PUBLISH', p .. 'wake', q)
local t = redis.call('TIME')
redis.call('ZADD', leases, expiry, id)
";
    let found: Vec<(usize, String)> = undeclared(script, "").into_iter().map(|(n, cmd, _)| (n, cmd)).collect();
    assert_eq!(found, [(6, "HMGET".into()), (7, "DEL".into()), (10, "ZADD".into())]);
    assert_eq!(split_args("'HSET', jk, f(a, b), 'x,y')"), ["'HSET'", "jk", "f(a, b)", "'x,y'"]);
}

/// How many places in each script build a key instead of naming a declared
/// one, today. A script whose count goes up breaks the rule further; one
/// whose count goes down takes this list down with it.
const UNDECLARED_TODAY: &[(&str, usize)] = &[
    ("extend.lua", 1),
    ("finish.lua", 1),
    ("fire.lua", 2),
    ("forward.lua", 1),
    ("lib.lua", 23),
    // One-time conversions of the earlier layout's keys (layout.rs): they
    // stay, as the keys they read were built by the scripts that wrote them.
    ("migrate.lua", 2),
    ("migrate_entries.lua", 2),
    ("recover.lua", 1),
    ("retry_failed.lua", 1),
    ("revoke.lua", 2),
];

#[test]
fn no_script_builds_more_keys_than_it_did() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/broker/redis/scripts");
    // lib.lua is prepended to the scripts: its locals from KEYS are theirs.
    let lib = std::fs::read_to_string(dir.join("lib.lua")).expect("lib.lua");
    let mut counts = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("the scripts' folder").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let text = std::fs::read_to_string(entry.path()).expect("a script");
        let n = undeclared(&text, &lib).len();
        if n > 0 {
            counts.insert(name, n);
        }
    }
    let today: BTreeMap<String, usize> = UNDECLARED_TODAY.iter().map(|(s, n)| ((*s).to_string(), *n)).collect();
    assert_eq!(counts, today, "places where a script builds a key instead of naming a declared one, by script");
}
