//! The broker contract, once, run against every backend. Each case seeds
//! jobs, calls transitions, moves the broker's clock on where time must pass
//! (`env.advance`: no sleeping), and asserts what every record says
//! afterwards. `cases` covers a job's run, `operations` what surrounds it;
//! `faults` holds the contract's answers to lost replies,
//! shutdowns and stranded concurrency slots.

mod cases;
mod faults;
mod operations;

/// Stamps a case for each backend: `conformance!(name, |broker, env| { ... })`.
macro_rules! conformance {
    ($name:ident, |$broker:ident, $env:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($broker: std::sync::Arc<dyn taskq::broker::Broker>, $env: &crate::common::Env) {
                let _ = $env;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let env = crate::common::Env::sqlite();
                body(env.connect().await, &env).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                let env = crate::common::Env::redis();
                body(env.connect().await, &env).await
            }
        }
    };
}
pub(crate) use conformance;
