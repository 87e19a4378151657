//! Ids as a command line gives them: whole, or by their first characters,
//! which the broker completes as git completes a commit's.

use crate::broker::Broker;
use crate::exit::{UsageError, unknown_ids};
use crate::job::{IdArg, IdPrefix, JobId};

/// How many of the ids an ambiguous prefix matches its error lists.
const SHOWN: usize = 3;

/// The ids `args` name, in their order. A whole id is taken as it is, with
/// no broker read (the command reports one it does not find); a prefix must
/// start exactly one job's or workflow run's id.
pub async fn resolve(broker: &dyn Broker, args: &[IdArg]) -> anyhow::Result<Vec<JobId>> {
    let mut ids = Vec::with_capacity(args.len());
    let mut unknown = Vec::new();
    for arg in args {
        match arg {
            IdArg::Id(id) => ids.push(*id),
            IdArg::Prefix(prefix) => match complete(broker, prefix).await? {
                Some(id) => ids.push(id),
                None => unknown.push(prefix),
            },
        }
    }
    if unknown.is_empty() { Ok(ids) } else { Err(unknown_ids(&unknown).into()) }
}

/// [`resolve`] for a command that takes one id.
pub async fn resolve_one(broker: &dyn Broker, arg: &IdArg) -> anyhow::Result<JobId> {
    match arg {
        IdArg::Id(id) => Ok(*id),
        IdArg::Prefix(prefix) => complete(broker, prefix).await?.ok_or_else(|| unknown_ids(&[prefix]).into()),
    }
}

/// The one id that starts with `prefix`; `None` if none does.
async fn complete(broker: &dyn Broker, prefix: &IdPrefix) -> anyhow::Result<Option<JobId>> {
    // One more than shown says whether there are more.
    let mut found = broker.find_ids(prefix, SHOWN + 1).await?;
    found.sort();
    if found.len() <= 1 {
        return Ok(found.pop());
    }
    let shown: Vec<String> = found.iter().take(SHOWN).map(ToString::to_string).collect();
    let more = if found.len() > SHOWN { " and more" } else { "" };
    Err(UsageError(format!(
        "job id \"{prefix}\" is ambiguous: {}{more} start with it; give more of the id",
        shown.join(", ")
    ))
    .into())
}
