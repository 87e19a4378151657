//! The config loader on any bytes (checks in taskq::fuzzing).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| taskq::fuzzing::config(data));
