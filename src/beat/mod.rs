//! The scheduler: schedules and their next fire times. Firing itself is the
//! subject of a later change; `check` already shows the next fires.

pub mod schedule;
