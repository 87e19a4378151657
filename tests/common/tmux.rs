//! A tmux server of a test's own, for what needs a real terminal (`top`,
//! a password typed without echo); killed when dropped.

use super::Env;

pub(crate) struct Tmux<'a> {
    env: &'a Env,
    socket: String,
}

impl Tmux<'_> {
    /// A server on a socket named for `what` and this test process.
    pub(crate) fn new<'a>(env: &'a Env, what: &str) -> Tmux<'a> {
        Tmux { env, socket: format!("taskq-{what}-{}", std::process::id()) }
    }

    pub(crate) fn cmd(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["-L", self.socket.as_str()];
        all.extend_from_slice(args);
        self.env.command_for("tmux", &all).output().expect("tmux runs")
    }

    /// What session `target`'s pane shows.
    pub(crate) fn screen(&self, target: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", target]).stdout).into_owned()
    }
}

impl Drop for Tmux<'_> {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}
