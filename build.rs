//! Hashes the Redis scripts at build time, as `EVALSHA` names them: each
//! is sent with `common.lua` (and most with `lib.lua`) prepended, and
//! hashing that text in every process was a fifth of a one-shot
//! `enqueue`'s instructions. src/broker/redis/script.rs reads the table.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("src/broker/redis/scripts");
    println!("cargo:rerun-if-changed={}", dir.display());
    let read =
        |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
    let (common, lib) = (read("common.lua"), read("lib.lua"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the scripts' folder")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| Path::new(name).extension().is_some_and(|ext| ext == "lua"))
        .filter(|name| name != "common.lua" && name != "lib.lua")
        .collect();
    names.sort();
    let mut out = String::from(
        "/// (prelude, script file, SHA-1 of the text sent), made by build.rs.\nconst HASHES: &[(&str, &str, &str)] = &[\n",
    );
    for name in &names {
        let own = read(name);
        for (prelude, text) in [("common", format!("{common}{own}")), ("lib", format!("{common}{lib}{own}"))] {
            let hash = sha1_smol::Sha1::from(text).digest().to_string();
            writeln!(out, "    ({prelude:?}, {name:?}, {hash:?}),").expect("a string takes writes");
        }
    }
    out.push_str("];\n");
    let path = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("script_hashes.rs");
    std::fs::write(path, out).expect("cannot write the scripts' hashes");
}
