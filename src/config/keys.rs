//! Every key jobs.toml accepts, table by table, read from the very lists
//! the parser checks keys against. taskq.toml(5) is held to this: a test
//! beside the page fails when a key taken here is missing there, so adding a
//! key to the parser without documenting it cannot go unnoticed.

use super::fields::{JOB_KEYS, JOB_ONLY_KEYS};
use super::http::HTTP_KEYS;
use super::params::{ParamType, RULE_KEYS};
use super::validate::{TASKQ_KEYS, TOP_KEYS};
use super::workflow::{GROUP_STEP_KEYS, MAP_STEP_KEYS, WORKFLOW_KEYS, WORKFLOW_STEP_KEYS};

/// The tables, as taskq.toml(5) names them.
pub mod table {
    /// The file's own keys: the tables below.
    pub const TOP: &str = "top level";
    pub const TASKQ: &str = "[taskq]";
    pub const DEFAULTS: &str = "[defaults]";
    pub const JOB: &str = "[jobs.NAME]";
    pub const HTTP: &str = "[jobs.NAME.http]";
    /// A typed parameter: `params = { n = { type = "int" } }`.
    pub const PARAM_RULE: &str = "params rule";
    /// Not keys but the values of a rule's `type`.
    pub const PARAM_TYPES: &str = "params types";
    pub const WORKFLOW: &str = "[workflows.NAME]";
    pub const GROUP_STEP: &str = "group step";
    pub const MAP_STEP: &str = "map step";
    pub const WORKFLOW_STEP: &str = "workflow step";
}

/// One table of jobs.toml and the keys (or, for the parameter types, the
/// words) it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySection {
    pub table: &'static str,
    pub keys: Vec<&'static str>,
}

/// Every table and its keys, in the order the parser reads them.
pub fn documented_sections() -> Vec<KeySection> {
    let section = |table, keys: &[&'static str]| KeySection { table, keys: keys.to_vec() };
    let defaults: Vec<&'static str> = JOB_KEYS.iter().copied().filter(|k| !JOB_ONLY_KEYS.contains(k)).collect();
    vec![
        section(table::TOP, TOP_KEYS),
        section(table::TASKQ, TASKQ_KEYS),
        section(table::DEFAULTS, &defaults),
        section(table::JOB, JOB_KEYS),
        section(table::HTTP, HTTP_KEYS),
        section(table::PARAM_RULE, RULE_KEYS),
        KeySection { table: table::PARAM_TYPES, keys: ParamType::names().collect() },
        section(table::WORKFLOW, WORKFLOW_KEYS),
        section(table::GROUP_STEP, GROUP_STEP_KEYS),
        section(table::MAP_STEP, MAP_STEP_KEYS),
        section(table::WORKFLOW_STEP, WORKFLOW_STEP_KEYS),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_take_every_job_key_but_the_per_job_ones() {
        let sections = documented_sections();
        let keys = |t: &str| sections.iter().find(|s| s.table == t).map(|s| s.keys.clone()).unwrap_or_default();
        let (job, defaults) = (keys(table::JOB), keys(table::DEFAULTS));
        for key in ["command", "http", "schedule", "every", "params"] {
            assert!(job.contains(&key) && !defaults.contains(&key), "{key}");
        }
        assert!(defaults.contains(&"timeout") && defaults.len() + JOB_ONLY_KEYS.len() == job.len());
    }
}
