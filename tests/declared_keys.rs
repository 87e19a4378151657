//! Redis's rule for scripts: every key a script touches is given to it in
//! KEYS (Redis Cluster routes and guards a script by them, and refuses a
//! script whose keys are mid-move instead of letting it write half; servers
//! and proxies that enforce the rule refuse anything else). The rule as the
//! scripts keep it: a key argument of `redis.call` is written `KEYS[n]`,
//! `K.name` for a table `K` built from KEYS, or a name that stands for one
//! (`declared_names`). Only the one-time conversions of the earliest layout
//! build keys; the list below holds them, so that no other is added.

use std::collections::{BTreeMap, BTreeSet};
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
    let names = declared_names(&format!("{prepended}\n{script}"));
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
                if !is_declared(key) && !names.contains(key.trim()) {
                    found.push((n + 1, cmd.clone(), key.clone()));
                }
            }
        }
    }
    found
}

/// The names in `code` that stand for declared keys: locals set from KEYS
/// (`local JOBS = KEYS[2]`), the variable of a loop over KEYS or over a
/// table of declared keys, and a function's parameter that every call of
/// the function passes a declared key.
fn declared_names(code: &str) -> BTreeSet<String> {
    let code: Vec<&str> = code.lines().map(|l| l.split("--").next().unwrap_or_default().trim()).collect();
    let mut names: BTreeSet<String> = code
        .iter()
        .filter_map(|l| l.strip_prefix("local ")?.split_once(" = KEYS["))
        .map(|(name, _)| name.trim().to_string())
        .collect();
    let ok = |names: &BTreeSet<String>, text: &str| is_declared(text) || names.contains(text.trim());
    // Twice: a parameter may be passed on from another function's.
    for _ in 0..2 {
        for line in &code {
            // for _, key in ipairs(KEYS) / ipairs({A, B})
            if let Some((vars, rest)) = line.strip_prefix("for ").and_then(|l| l.split_once(" in ipairs(")) {
                let table = rest.split_once(") do").map_or(rest, |(table, _)| table);
                let all_declared = table == "KEYS"
                    || table
                        .strip_prefix('{')
                        .and_then(|t| t.strip_suffix('}'))
                        .is_some_and(|items| items.split(',').all(|item| ok(&names, item)));
                if let (true, Some((_, var))) = (all_declared, vars.split_once(',')) {
                    names.insert(var.trim().to_string());
                }
            }
            // local function f(a, b): a parameter every call passes declared
            let Some(sig) = line.strip_prefix("local function ") else { continue };
            let Some((name, params)) = sig.split_once('(') else { continue };
            let params = split_args(params);
            let call = format!("{name}(");
            let mut calls: Vec<Vec<String>> = Vec::new();
            for l in code.iter().filter(|l| !l.starts_with("local function ")) {
                calls.extend(l.match_indices(&call).map(|(at, _)| split_args(&l[at + call.len()..])));
            }
            for (i, param) in params.iter().enumerate() {
                if !calls.is_empty() && calls.iter().all(|args| args.get(i).is_some_and(|a| ok(&names, a))) {
                    names.insert(param.clone());
                }
            }
        }
    }
    names
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
    let names = "\
local function load(hash, field) return redis.call('HGET', hash, field) end
local function loose(key) return redis.call('GET', key) end
load(JOBS, id)
load(K.pending, id)
loose(JOBS)
loose(p .. 'x')
for i, k in ipairs(KEYS) do redis.call('GET', k) end
for _, set in ipairs({JOBS, K.done}) do redis.call('ZADD', set, 1, id) end
for _, other in ipairs({JOBS, p .. 'x'}) do redis.call('ZADD', other, 1, id) end
";
    let found: Vec<(usize, String)> =
        undeclared(names, "local JOBS = KEYS[2]").into_iter().map(|(n, _, key)| (n, key)).collect();
    assert_eq!(found, [(2, "key".into()), (9, "other".into())], "a parameter passed a built key; a loop over one");
    assert_eq!(split_args("'HSET', jk, f(a, b), 'x,y')"), ["'HSET'", "jk", "f(a, b)", "'x,y'"]);
}

/// The places that build a key: only the one-time conversions of the
/// earliest layout's keys (layout.rs), which read keys the scripts of that
/// layout built.
const UNDECLARED_TODAY: &[(&str, usize)] = &[("migrate.lua", 2), ("migrate_entries.lua", 2)];

#[test]
fn every_script_names_every_key_it_touches() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/broker/redis/scripts");
    // lib.lua is prepended to a queue's scripts: its locals from KEYS are theirs.
    let lib = std::fs::read_to_string(dir.join("lib.lua")).expect("lib.lua");
    let made = std::fs::read_to_string(dir.join("../mod.rs")).expect("mod.rs");
    let mut counts = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("the scripts' folder").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let text = std::fs::read_to_string(entry.path()).expect("a script");
        let with_lib = made.contains(&format!("with_lib!(\"{name}\")"));
        let n = undeclared(&text, if with_lib { &lib } else { "" }).len();
        if n > 0 {
            counts.insert(name, n);
        }
    }
    let today: BTreeMap<String, usize> = UNDECLARED_TODAY.iter().map(|(s, n)| ((*s).to_string(), *n)).collect();
    assert_eq!(counts, today, "places where a script builds a key instead of naming a declared one, by script");
}
