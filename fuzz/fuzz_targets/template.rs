//! Templates: the first line is the template, the rest the value of every
//! parameter (checks in taskq::fuzzing).
#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| {
    let (template, value) = text.split_once('\n').unwrap_or((text, ""));
    taskq::fuzzing::template(template, value);
});
