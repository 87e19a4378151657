//! `--batch` lines (checks in taskq::fuzzing).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| taskq::fuzzing::batch_line(data));
