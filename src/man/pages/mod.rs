//! The commands' pages, as tables: one [`CommandDoc`] per command, grouped
//! by what the commands are for.

mod admin;
mod jobs;
mod root;
mod tools;
mod workers;

use super::command::CommandDoc;

/// Every page's table.
const ALL: &[&CommandDoc] = &[
    &root::TASKQ,
    &tools::CHECK,
    &jobs::ENQUEUE,
    &workers::RUN,
    &workers::BEAT,
    &workers::EXEC,
    &jobs::STATUS,
    &jobs::WAIT,
    &jobs::LOGS,
    &jobs::HISTORY,
    &jobs::LIST,
    &admin::INSPECT,
    &admin::TOP,
    &admin::SCHEDULE,
    &admin::REVOKE,
    &admin::RETRY,
    &admin::PURGE,
    &admin::WEB,
    &tools::IMPORT_CRONTAB,
    &tools::COMPLETIONS,
    &tools::MAN,
];

/// The table of command `name` (`taskq` for taskq(1)).
pub(super) fn doc(name: &str) -> anyhow::Result<&'static CommandDoc> {
    ALL.iter().copied().find(|d| d.name == name).ok_or_else(|| {
        anyhow::anyhow!("internal error: command \"{name}\" has no man page text (src/man/pages); please report it")
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::ALL;

    #[test]
    fn each_command_has_one_table_and_each_table_a_command() {
        let root = crate::cli::Cli::command();
        let names: Vec<&str> =
            root.get_subcommands().filter(|c| !c.is_hide_set()).map(clap::Command::get_name).chain(["taskq"]).collect();
        for name in &names {
            assert_eq!(ALL.iter().filter(|d| d.name == *name).count(), 1, "tables of {name}");
        }
        for doc in ALL {
            assert!(names.contains(&doc.name), "a table for no command: {}", doc.name);
        }
    }
}
