//! The shape of the code: the top-level modules of src/ depend on each other
//! without a cycle (so each can be read, tested and changed from the leaves
//! up: `exit`, `names`, `schedule`, `job`, `flow`, then `config` and `broker`, then
//! `worker`, `beat` and `commands`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module and the other top-level modules its non-test code
/// names as `crate::module`.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("a component").as_os_str().to_string_lossy().to_string();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let used = deps.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            for name in named_modules(&code[at + "crate::".len()..]) {
                if name != module {
                    used.insert(name);
                }
            }
        }
    }
    deps
}

/// The top-level modules a path after `crate::` names: one (`job::JobId`),
/// or each of a group (`{exit::Exit, job::{JobId, JobState}}`).
fn named_modules(path: &str) -> Vec<String> {
    let ident =
        |s: &str| -> String { s.trim_start().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect() };
    let Some(group) = path.strip_prefix('{') else {
        return vec![ident(path)].into_iter().filter(|n| !n.is_empty()).collect();
    };
    // The group's items at depth one, up to its closing brace.
    let (mut depth, mut names, mut item_start) = (1, Vec::new(), true);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => break,
            '}' => depth -= 1,
            ',' if depth == 1 => item_start = true,
            c if item_start && !c.is_whitespace() => {
                names.push(ident(&group[i..]));
                item_start = false;
            }
            _ => {}
        }
    }
    names.into_iter().filter(|n| !n.is_empty()).collect()
}

#[test]
fn grouped_paths_count_each_module() {
    assert_eq!(named_modules("job::JobId;"), ["job"]);
    assert_eq!(named_modules("{exit::Exit, job::{JobId, JobState},\n    names::QueueName};"), ["exit", "job", "names"]);
}

#[test]
fn the_top_level_modules_form_no_cycle() {
    let deps = dependencies();
    // Depth-first, with the path so far: meeting a module on it is a cycle.
    fn visit(
        module: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(at) = path.iter().position(|m| m == module) {
            panic!("a module cycle: {} -> {module}", path[at..].join(" -> "));
        }
        if !done.insert(module.to_string()) {
            return;
        }
        path.push(module.to_string());
        for next in deps.get(module).into_iter().flatten() {
            visit(next, deps, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for module in deps.keys() {
        visit(module, &deps, &mut Vec::new(), &mut done);
    }
    assert!(deps.len() > 20, "the modules were found: {:?}", deps.keys());
}
