//! The crontab importer (checks in taskq::fuzzing).
#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| taskq::fuzzing::crontab(text));
