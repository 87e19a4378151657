//! The job spawner (src/exec/spawn.rs: `clone(CLONE_VM | CLONE_VFORK)` plus
//! the parent-death signal and the reaper's registration in the child)
//! beside `std::process::Command` with `process_group(0)`: without
//! `pre_exec` std takes the `posix_spawn` path (also a vfork, but without
//! the parent-death signal), with a `pre_exec` that sets the signal it
//! forks. Each starts `/bin/true` with its output piped and waits for it,
//! one at a time, in a process of a small worker's size and of one holding
//! 512 MiB (a fork copies page tables, a vfork does not).
//!
//! Not a test: `cargo bench --bench spawn`; paste the table into BENCHMARKS.md.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 10;
const PER_ROUND: usize = 200;

#[derive(Clone, Copy)]
enum Way {
    Spawner,
    StdPosixSpawn,
    StdFork,
}

impl Way {
    const ALL: [Way; 3] = [Way::Spawner, Way::StdPosixSpawn, Way::StdFork];

    fn name(self) -> &'static str {
        match self {
            Way::Spawner => "taskq spawner (vfork + parent-death signal)",
            Way::StdPosixSpawn => "std Command, process_group(0) (posix_spawn, no parent-death signal)",
            Way::StdFork => "std Command, process_group(0) + pre_exec parent-death signal (fork)",
        }
    }

    fn once(self, rt: &tokio::runtime::Runtime) {
        let code = match self {
            Way::Spawner => rt.block_on(taskq::exec::spawn_and_wait(&["/bin/true"])).expect("spawn"),
            Way::StdPosixSpawn => std_command().status().expect("spawn").code(),
            Way::StdFork => {
                let mut cmd = std_command();
                // SAFETY: prctl is async-signal-safe; nothing else runs in the child.
                unsafe {
                    cmd.pre_exec(|| {
                        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0 as libc::c_ulong) != 0
                        {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
                cmd.status().expect("spawn").code()
            }
        };
        assert_eq!(code, Some(0));
    }
}

fn std_command() -> Command {
    let mut cmd = Command::new("/bin/true");
    cmd.process_group(0).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// `xargs -P 1 -n 1 true`: how fast this machine starts processes one at a time.
fn xargs_rate(n: usize) -> f64 {
    let input: String = (0..n).map(|_| "x\n").collect();
    let start = Instant::now();
    let mut child =
        Command::new("xargs").args(["-P", "1", "-n", "1", "true"]).stdin(Stdio::piped()).spawn().expect("xargs");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), input.as_bytes()).expect("write");
    drop(child.stdin.take());
    assert!(child.wait().expect("xargs").success());
    n as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn measure(rt: &tokio::runtime::Runtime, label: &str) {
    // Rounds interleave the ways, so a noisy moment costs each alike.
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); Way::ALL.len()];
    for _ in 0..ROUNDS {
        for (i, way) in Way::ALL.iter().enumerate() {
            for _ in 0..PER_ROUND {
                let start = Instant::now();
                way.once(rt);
                times[i].push(start.elapsed());
            }
        }
    }
    let base = median(times[0].clone());
    for (way, t) in Way::ALL.iter().zip(times) {
        let m = median(t);
        println!(
            "| {label} | {} | {:.0} µs | {:.2}× |",
            way.name(),
            m.as_secs_f64() * 1e6,
            m.as_secs_f64() / base.as_secs_f64()
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let xargs = xargs_rate(2000);
    println!("Machine: `xargs -P 1 -n 1 true` {xargs:.0} processes/s ({:.0} µs each)\n", 1e6 / xargs);
    println!("| process size | way | median start-to-exit | vs the spawner |");
    println!("|---|---|---|---|");
    measure(&rt, "small (the bench alone)");
    let ballast: Vec<u8> = vec![1; 512 << 20];
    let touched: u64 = ballast.iter().step_by(4096).map(|&b| u64::from(b)).sum();
    measure(&rt, "512 MiB resident");
    assert!(touched > 0);
}
