//! The programs a crontab line runs other programs through, and the options
//! of the programs `name.rs` names by an operand: the tables the naming
//! heuristic reads, kept apart so that adding a program is one line.

/// What a runner does with the words after its own options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Runs the command that follows (`nice`, `flock LOCK`, `sudo -u X`).
    Wrapper,
    /// Runs a script file (`python3 manage.py`, `php artisan`).
    Interpreter,
    /// A shell: a script file, or a command line after `-c` (also in a
    /// cluster such as `-ec`).
    Shell,
}

/// A program that runs another: the name comes from what it runs.
#[derive(Debug)]
pub(super) struct Runner {
    pub(super) names: &'static [&'static str],
    pub(super) kind: Kind,
    /// Options whose value is the next word (`-n 10`, `-u www-data`).
    pub(super) value: &'static [&'static str],
    /// Options whose value is a whole command line (`flock -c CMD`, `su -c CMD`).
    pub(super) command: &'static [&'static str],
    /// Options whose value is the script (`python -m MODULE`, `php -f FILE`).
    pub(super) script: &'static [&'static str],
    /// Options whose value is inline code: nothing to name the job by.
    pub(super) code: &'static [&'static str],
    /// Operands before the command: flock's lock file, timeout's duration.
    pub(super) operands: usize,
}

const WRAPPER: Runner =
    Runner { names: &[], kind: Kind::Wrapper, value: &[], command: &[], script: &[], code: &[], operands: 0 };
const INTERPRETER: Runner = Runner { kind: Kind::Interpreter, ..WRAPPER };

const SUDO_VALUES: &[&str] = &[
    "-u",
    "--user",
    "-g",
    "--group",
    "-C",
    "--close-from",
    "-D",
    "--chdir",
    "-h",
    "--host",
    "-p",
    "--prompt",
    "-r",
    "--role",
    "-t",
    "--type",
    "-U",
    "--other-user",
    "-T",
    "--command-timeout",
];

/// Matched against the program's base name, lower-cased, with a trailing
/// version (`python3.11`, `php8.2`) removed.
pub(super) const RUNNERS: &[Runner] = &[
    Runner {
        names: &["env"],
        value: &["-u", "--unset", "-C", "--chdir"],
        command: &["-S", "--split-string"],
        ..WRAPPER
    },
    Runner { names: &["nice"], value: &["-n", "--adjustment"], ..WRAPPER },
    Runner {
        names: &["ionice"],
        value: &["-c", "--class", "-n", "--classdata", "-p", "--pid", "-P", "--pgid", "-u", "--uid"],
        ..WRAPPER
    },
    Runner { names: &["nohup", "chronic", "cronic", "unbuffer", "run-one", "command", "builtin"], ..WRAPPER },
    Runner { names: &["exec"], value: &["-a"], ..WRAPPER },
    Runner { names: &["time"], value: &["-f", "--format", "-o", "--output"], ..WRAPPER },
    Runner { names: &["timeout"], value: &["-s", "--signal", "-k", "--kill-after"], operands: 1, ..WRAPPER },
    Runner {
        names: &["flock"],
        value: &["-w", "--wait", "--timeout", "-E", "--conflict-exit-code"],
        command: &["-c", "--command"],
        operands: 1,
        ..WRAPPER
    },
    Runner { names: &["setlock", "setuidgid", "envuidgid", "envdir", "taskset"], operands: 1, ..WRAPPER },
    Runner { names: &["lckdo"], value: &["-w"], operands: 1, ..WRAPPER },
    Runner { names: &["sudo", "doas"], value: SUDO_VALUES, ..WRAPPER },
    Runner {
        names: &["su", "runuser"],
        value: &["-g", "--group", "-G", "--supp-group", "-s", "--shell", "-u", "--user", "-w"],
        command: &["-c", "--command"],
        operands: 1,
        ..WRAPPER
    },
    Runner {
        names: &["chpst"],
        value: &["-u", "-U", "-b", "-e", "-/", "-n", "-l", "-L", "-m", "-d", "-o", "-p", "-f", "-c", "-r", "-t"],
        ..WRAPPER
    },
    Runner { names: &["stdbuf"], value: &["-i", "-o", "-e", "--input", "--output", "--error"], ..WRAPPER },
    Runner {
        names: &["systemd-cat"],
        value: &["-t", "--identifier", "-p", "--priority", "--stderr-priority"],
        ..WRAPPER
    },
    Runner { names: &["python", "pypy"], value: &["-W", "-X", "-Q"], script: &["-m"], code: &["-c"], ..INTERPRETER },
    Runner {
        names: &["php", "php-cli"],
        value: &["-d", "-c", "-z"],
        script: &["-f", "--file"],
        code: &["-r", "--run", "-R", "-B", "-E"],
        ..INTERPRETER
    },
    Runner {
        names: &["node", "nodejs", "bun"],
        value: &["-r", "--require", "--import", "--loader"],
        code: &["-e", "--eval", "-p", "--print"],
        ..INTERPRETER
    },
    Runner { names: &["perl"], value: &["-I"], code: &["-e", "-E"], ..INTERPRETER },
    Runner { names: &["ruby"], value: &["-I", "-r", "-C"], code: &["-e"], ..INTERPRETER },
    Runner {
        names: &["java"],
        value: &["-cp", "-classpath", "--class-path", "-p", "--module-path"],
        script: &["-jar"],
        ..INTERPRETER
    },
    Runner {
        names: &["sh", "bash", "dash", "zsh", "ksh", "ash"],
        kind: Kind::Shell,
        value: &["-o", "+o"],
        command: &["-c"],
        ..WRAPPER
    },
];

/// Options of programs named after an operand, so that an option's value is
/// not taken for it (`pg_dump -U postgres app` is about `app`).
#[derive(Debug)]
pub(super) struct Program {
    pub(super) names: &'static [&'static str],
    pub(super) value: &'static [&'static str],
    /// Options whose value is the operand that names the job (`psql -d app`).
    pub(super) subject: &'static [&'static str],
}

pub(super) const PROGRAMS: &[Program] = &[
    Program {
        names: &["pg_dump", "pg_dumpall", "psql", "vacuumdb", "reindexdb", "clusterdb", "pg_basebackup"],
        value: &[
            "-U",
            "--username",
            "-h",
            "--host",
            "-p",
            "--port",
            "-f",
            "--file",
            "-F",
            "--format",
            "-n",
            "-N",
            "-t",
        ],
        subject: &["-d", "--dbname"],
    },
    Program {
        names: &["mysqldump", "mysql", "mysqlcheck", "mariadb-dump", "mariadb"],
        value: &["-u", "--user", "-h", "--host", "-P", "--port", "-S", "--socket", "-r", "--result-file", "-e"],
        subject: &["-D", "--database"],
    },
    Program { names: &["rsync"], value: &["-e", "--rsh", "--exclude", "--include", "--filter"], subject: &[] },
    Program { names: &["git"], value: &["-C", "-c"], subject: &[] },
    Program {
        names: &["docker", "podman", "docker-compose"],
        value: &["-u", "--user", "-w", "--workdir", "-e", "--env", "-f", "--file", "-p", "--project-name", "-H"],
        subject: &[],
    },
    Program { names: &["restic"], value: &["-r", "--repo", "-p", "--password-file", "--cache-dir"], subject: &[] },
    Program { names: &["ssh"], value: &["-i", "-p", "-l", "-o", "-F", "-J"], subject: &[] },
    Program {
        names: &["curl"],
        value: &[
            "-o",
            "--output",
            "-H",
            "--header",
            "-d",
            "--data",
            "--data-raw",
            "--data-binary",
            "--data-urlencode",
            "-X",
            "--request",
            "-u",
            "--user",
            "-m",
            "--max-time",
            "--connect-timeout",
            "-A",
            "--user-agent",
            "-e",
            "--referer",
            "-w",
            "--write-out",
            "-T",
            "--upload-file",
            "-F",
            "--form",
            "-x",
            "--proxy",
            "-b",
            "-c",
            "--retry",
            "--retry-delay",
            "--retry-max-time",
            "--cacert",
            "--cert",
            "--key",
            "--resolve",
        ],
        subject: &[],
    },
    Program {
        names: &["wget"],
        value: &[
            "-O",
            "--output-document",
            "-o",
            "--output-file",
            "-a",
            "-t",
            "--tries",
            "-T",
            "--timeout",
            "-U",
            "--user-agent",
            "-P",
            "--header",
            "--user",
            "--password",
            "-e",
        ],
        subject: &[],
    },
];

/// The runner called `key`.
pub(super) fn runner(key: &str) -> Option<&'static Runner> {
    RUNNERS.iter().find(|r| r.names.contains(&key))
}

/// The option table of program `key`, if it has one.
pub(super) fn program(key: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.names.contains(&key))
}
