//! The broker contract, once, run against every backend. Each case seeds
//! jobs, calls transitions, moves the broker's clock on where time must pass
//! (`env.advance`: no sleeping), and asserts what every record says
//! afterwards. `cases` covers a job's run, `operations` what surrounds it,
//! `ids` how an id is found from its first characters;
//! `faults` holds the contract's answers to lost replies,
//! shutdowns and stranded concurrency slots.

pub(crate) mod cases;
mod faults;
mod ids;
mod operations;
mod runs;
mod stats;

/// Stamps a case for each backend: `conformance!(name, |broker, env| { ... })`.
macro_rules! conformance {
    ($name:ident, |$broker:ident, $env:ident| $body:block) => {
        $crate::broker_case!($name, |$broker, $env| $body,
            sqlite => $crate::common::Env::sqlite(),
            redis => $crate::common::Env::redis()
        );
    };
}
pub(crate) use conformance;
