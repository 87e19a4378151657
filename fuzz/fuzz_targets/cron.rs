//! Cron expressions (checks in taskq::fuzzing).
#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| taskq::fuzzing::cron(text));
