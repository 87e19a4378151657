//! The embedded broker on a full disk: a small tmpfs filled up under a
//! worker. `run --burst` exits 69 instead of retrying forever, and a worker
//! asked to stop stops. Mounting needs root: elsewhere these tests say so
//! and pass without running.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rustix::process::Signal;

use crate::common::{Env, SOON, wait_until};

/// A 4 MiB tmpfs, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here (needs root); the full-disk tests did not run");
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk to the last byte.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=64k"])
            .arg(format!("of={}", filler.display()))
            .stderr(std::process::Stdio::null())
            .status();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

// See: the faults issue, item 10 (`run --burst` on a full disk never exited).
#[test]
fn a_burst_run_on_a_full_disk_exits_69() {
    let Some(disk) = SmallDisk::mount() else { return };
    let env = Env::with_broker(&format!("sqlite://{}/taskq.db", disk.path().display()))
        .jobs("[jobs.slow]\ncommand = \"touch @DIR@/started; sleep 1\"\n");
    let id = env.enqueue(&["slow"]);
    let mut worker = env.spawn(&["run", "--burst"]);
    wait_until(SOON, "the job to start", || env.path("started").exists());
    let filler = disk.fill();
    let status = worker.wait_timeout(Duration::from_secs(30)).expect("the burst run ended");
    assert_eq!(status.code(), Some(69), "{}", worker.stderr());
    assert!(worker.stderr().contains("disk holding the database is full"), "{}", worker.stderr());
    // Nothing lost: with room again, the job runs (its lease lapses first).
    std::fs::remove_file(filler).unwrap();
    assert_eq!(env.state(&id), "running");
}

#[test]
fn a_worker_on_a_full_disk_stops_when_asked() {
    let Some(disk) = SmallDisk::mount() else { return };
    let env = Env::with_broker(&format!("sqlite://{}/taskq.db", disk.path().display()))
        .jobs("[jobs.slow]\ncommand = \"touch @DIR@/started; sleep 1\"\nkill_after = \"1s\"\n");
    env.enqueue(&["slow"]);
    let mut worker = env.spawn(&["run", "--shutdown-timeout", "1s"]);
    wait_until(SOON, "the job to start", || env.path("started").exists());
    disk.fill();
    wait_until(SOON, "the worker to fail recording the outcome", || {
        worker.stderr().contains("cannot record the outcome yet")
    });
    worker.signal(Signal::TERM);
    let status = worker.wait_timeout(Duration::from_secs(30)).expect("the worker stopped");
    assert!(status.success(), "{}", worker.stderr());
}
