//! Jobs as another user (`user`, `group`), as a cron.d line's user field:
//! the account is looked up on the worker's host when a run starts, and the
//! job's process takes its uid, primary gid and supplementary groups before
//! it execs (`spawn.rs`), with HOME, USER and LOGNAME from its passwd entry
//! and, as under cron, not the worker's environment (which holds the
//! broker's URL and every job's secrets): what it needs, its `env` names.
//! Only a worker running as root can do that. A job whose account cannot be
//! had (not root, or a user missing on this host) is named in an error at
//! the worker's start and reload (`refusals`), and each of its runs fails
//! with the reason; the worker's other jobs run, as cron's other lines do.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString, OsString};
use std::os::unix::ffi::OsStringExt;

use crate::config::{Config, RunAs};

/// The worker's variables a job run as another user keeps (and `LC_*`).
const KEPT_VARS: &[&str] = &["PATH", "LANG", "LANGUAGE", "TZ"];

/// PATH for a job run as another user when the worker has none: cron's.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The variables naming files the worker writes for a run, to be read by it.
const FILE_VARS: &[&str] = &["TASKQ_TRIGGER_OUTPUT", "TASKQ_PREV_OUTPUTS"];

/// An account to run as, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    pub name: String,
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    /// Supplementary groups, as `initgroups` would set them.
    pub groups: Vec<libc::gid_t>,
    pub home: OsString,
}

/// A passwd entry's fields this needs.
struct Passwd {
    uid: libc::uid_t,
    gid: libc::gid_t,
    home: OsString,
}

/// Runs a `*_r` lookup with a buffer grown until it fits. `call` returns
/// the function's error number and whether an entry was found.
fn with_buffer<T>(mut call: impl FnMut(&mut [u8]) -> (i32, Option<T>)) -> Result<Option<T>, std::io::Error> {
    let mut size = 1024;
    loop {
        let mut buf = vec![0u8; size];
        match call(&mut buf) {
            (libc::ERANGE, _) if size < 1 << 20 => size *= 4,
            (0, found) => return Ok(found),
            (errno, _) => return Err(std::io::Error::from_raw_os_error(errno)),
        }
    }
}

fn passwd(name: &CStr) -> Result<Option<Passwd>, std::io::Error> {
    with_buffer(|buf| {
        // SAFETY: getpwnam_r writes the entry into `entry` and its strings
        // into `buf`, both alive for this call, where they are read.
        unsafe {
            let mut entry: libc::passwd = std::mem::zeroed();
            let mut found: *mut libc::passwd = std::ptr::null_mut();
            let rc =
                libc::getpwnam_r(name.as_ptr(), &raw mut entry, buf.as_mut_ptr().cast(), buf.len(), &raw mut found);
            if rc != 0 || found.is_null() {
                return (rc, None);
            }
            let home = OsString::from_vec(CStr::from_ptr(entry.pw_dir).to_bytes().to_vec());
            (0, Some(Passwd { uid: entry.pw_uid, gid: entry.pw_gid, home }))
        }
    })
}

fn group_id(name: &CStr) -> Result<Option<libc::gid_t>, std::io::Error> {
    with_buffer(|buf| {
        // SAFETY: as in `passwd`.
        unsafe {
            let mut entry: libc::group = std::mem::zeroed();
            let mut found: *mut libc::group = std::ptr::null_mut();
            let rc =
                libc::getgrnam_r(name.as_ptr(), &raw mut entry, buf.as_mut_ptr().cast(), buf.len(), &raw mut found);
            if rc != 0 || found.is_null() {
                return (rc, None);
            }
            (0, Some(entry.gr_gid))
        }
    })
}

/// The groups `user` belongs to, `primary` first, as `initgroups` reads them.
fn group_list(user: &CStr, primary: libc::gid_t) -> Vec<libc::gid_t> {
    let mut size: libc::c_int = 32;
    loop {
        let mut groups = vec![0 as libc::gid_t; size as usize];
        let mut n = size;
        // SAFETY: `groups` holds `n` entries; getgrouplist writes at most
        // that many and sets `n` to how many there are.
        let rc = unsafe { libc::getgrouplist(user.as_ptr(), primary, groups.as_mut_ptr(), &raw mut n) };
        if rc >= 0 {
            groups.truncate(n.max(0) as usize);
            return groups;
        }
        if n <= size || size >= 65_536 {
            return vec![primary];
        }
        size = n;
    }
}

impl Identity {
    /// Looks `run_as` up on this host.
    pub(super) fn lookup(run_as: &RunAs) -> Result<Identity, String> {
        let user = &run_as.user;
        let c_user = CString::new(user.as_str()).map_err(|_| format!("user \"{user}\" holds a NUL byte"))?;
        let entry = passwd(&c_user)
            .map_err(|e| format!("cannot look up user \"{user}\": {e}"))?
            .ok_or_else(|| format!("user \"{user}\" does not exist on this host (getent passwd {user})"))?;
        let gid = match &run_as.group {
            None => entry.gid,
            Some(group) => {
                let c_group =
                    CString::new(group.as_str()).map_err(|_| format!("group \"{group}\" holds a NUL byte"))?;
                group_id(&c_group)
                    .map_err(|e| format!("cannot look up group \"{group}\": {e}"))?
                    .ok_or_else(|| format!("group \"{group}\" does not exist on this host (getent group {group})"))?
            }
        };
        // The user's groups as a login has them (its own primary group
        // among them), plus `group` when that names another, as
        // `sudo -u USER -g GROUP` runs.
        let mut groups = group_list(&c_user, entry.gid);
        if !groups.contains(&gid) {
            groups.insert(0, gid);
        }
        Ok(Identity { name: user.clone(), uid: entry.uid, gid, groups, home: entry.home })
    }

    /// Whether this process can start a job as this identity: as root, or
    /// already being it.
    pub(super) fn assumable(&self) -> Result<(), String> {
        // SAFETY: plain system calls without arguments.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if euid == 0 || (euid == self.uid && egid == self.gid) {
            return Ok(());
        }
        Err(format!(
            "the job runs as user \"{}\": only a worker running as root can switch users, and this one runs as {} (run the worker as root: for the packaged units, /usr/share/doc/taskq/examples/run-jobs-as-users.conf; or remove \"user\" from the job)",
            self.name,
            current_user()
        ))
    }

    /// Whether starting as this identity changes anything.
    pub(super) fn is_current(&self) -> bool {
        // SAFETY: plain system calls without arguments.
        unsafe { libc::geteuid() == self.uid && libc::getegid() == self.gid }
    }

    /// Gives the user the files the worker wrote for this run (a hook's
    /// trigger output, a workflow step's inputs), private to the worker
    /// until now.
    pub(super) fn give_files(&self, taskq_env: &[(String, String)]) -> Result<(), String> {
        for (name, path) in taskq_env {
            if FILE_VARS.contains(&name.as_str()) {
                std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
                    .map_err(|e| format!("cannot give {path} ({name}) to user \"{}\": {e}", self.name))?;
            }
        }
        Ok(())
    }

    /// Where a job run as this user starts without a `workdir`: its home,
    /// as under cron, or `/` when it has none.
    pub(super) fn home_dir(&self) -> std::path::PathBuf {
        let home = std::path::PathBuf::from(&self.home);
        if home.is_dir() { home } else { "/".into() }
    }

    /// The environment a job run as this user starts from, as cron's: the
    /// user's HOME, USER and LOGNAME, SHELL (the job's), and of the
    /// worker's own only what says where programs and the locale are
    /// (PATH, LANG, LC_*, TZ).
    pub(super) fn env(&self, shell: &str) -> BTreeMap<OsString, OsString> {
        let mut env: BTreeMap<OsString, OsString> = std::env::vars_os()
            .filter(|(k, _)| {
                let k = k.to_string_lossy();
                KEPT_VARS.contains(&k.as_ref()) || k.starts_with("LC_")
            })
            .collect();
        env.entry("PATH".into()).or_insert_with(|| DEFAULT_PATH.into());
        env.insert("HOME".into(), self.home.clone());
        env.insert("USER".into(), self.name.clone().into());
        env.insert("LOGNAME".into(), self.name.clone().into());
        env.insert("SHELL".into(), shell.into());
        env
    }
}

/// This process's user, by name if it has one.
fn current_user() -> String {
    // SAFETY: a plain system call without arguments.
    let uid = unsafe { libc::geteuid() };
    // SAFETY: getpwuid_r as in `passwd`, reading the name while `buf` lives.
    let name = with_buffer(|buf| unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &raw mut entry, buf.as_mut_ptr().cast(), buf.len(), &raw mut found);
        if rc != 0 || found.is_null() {
            return (rc, None);
        }
        (0, Some(CStr::from_ptr(entry.pw_name).to_string_lossy().into_owned()))
    });
    match name {
        Ok(Some(name)) => format!("\"{name}\""),
        _ => format!("uid {uid}"),
    }
}

/// Why this process cannot run every job of `queues` that names a `user`:
/// one line per job (an account missing on this host, or not root), for a
/// worker to log at start and reload, and `check` to warn of.
pub fn refusals(config: &Config, queues: Option<&[crate::names::QueueName]>) -> Vec<String> {
    let mut out = Vec::new();
    for def in &config.jobs {
        let crate::config::Action::Shell(shell) = &def.action else { continue };
        let Some(run_as) = &shell.run_as else { continue };
        if queues.is_some_and(|q| !q.contains(&def.queue)) {
            continue;
        }
        if let Err(why) = Identity::lookup(run_as).and_then(|id| id.assumable()) {
            out.push(format!("job \"{}\": {why}", def.name));
        }
    }
    out
}
