//! `taskq import-crontab` on the real binary: what converts, what is
//! reported, the names it gives, and its exit status.

use predicates::prelude::*;

use crate::common::Env;

/// The `[jobs.NAME]` headers of a converted crontab, in order.
fn job_names(toml: &str) -> Vec<&str> {
    toml.lines().filter_map(|l| l.strip_prefix("[jobs.")?.strip_suffix(']')).collect()
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).expect("UTF-8 output")
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).expect("UTF-8 output")
}

const CRONTAB: &str = r#"# m h  dom mon dow   command
SHELL=/bin/bash
MAILTO=ops@example.com
PATH=/usr/local/bin:/usr/bin:/bin

# nightly database backup
30 2 * * * /usr/local/bin/backup.sh --full > /var/log/backup.log 2>&1
*/15 9-17 * * mon-fri cd /srv/app && ./bin/sync-inventory
@hourly /usr/local/bin/backup.sh --incremental

CRON_TZ=America/New_York
0 0 1 * * date +\%F >> monthly.txt
@reboot /usr/local/bin/start-things
5 4 * * sun echo "weekly" | mail -s report root%body
"#;

#[test]
fn import_crontab_converts_what_it_can_and_reports_the_rest() {
    let env = Env::sqlite();
    env.write("crontab", CRONTAB);
    let out = env.run(&["import-crontab", "crontab"]).code(65).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            "error: line 13: @reboot is not a schedule taskq can fire: run the command from a systemd unit at boot",
            "error: line 14: command \"echo \\\"weekly\\\" | mail -s report root%body\": an unescaped % (cron feeds what follows to the command's stdin) cannot be converted: put the input in a file, or write \\% for a literal %",
            "error: 2 lines not converted; the 4 other entries were converted",
        ]
    );
    let toml = String::from_utf8(out.stdout).unwrap();
    assert!(toml.contains("# MAILTO=ops@example.com"), "{toml}");
    assert!(toml.contains("# nightly database backup\n[jobs.backup]"), "{toml}");
    env.write("jobs.toml", &toml);
    let config = taskq::config::Config::load(&env.path("jobs.toml")).expect("the output is a valid config");
    let job = |name: &str| config.job(name).unwrap_or_else(|e| panic!("{e}:\n{toml}"));
    let backup = job("backup");
    assert_eq!(backup.schedule.as_ref().unwrap().describe(), "30 2 * * *");
    let taskq::config::Action::Shell(shell) = &backup.action else { panic!("backup is a shell job") };
    assert_eq!(shell.shell, "/bin/bash");
    assert_eq!(shell.env.keys().collect::<Vec<_>>(), ["PATH"]);
    assert_eq!(job("sync-inventory").schedule.as_ref().unwrap().describe(), "*/15 9-17 * * mon-fri");
    assert_eq!(job("backup-2").schedule.as_ref().unwrap().describe(), "@hourly");
    let monthly = job("date");
    assert_eq!(monthly.timezone.name(), "America/New_York");
    env.run(&["check"]).success().stdout(predicate::str::contains("4 jobs, 4 scheduled"));
    env.run(&["exec", "date"]).success();
    assert_eq!(env.read("monthly.txt").trim().len(), "2026-11-22".len(), "date +%F ran with its % restored");
}

#[test]
fn import_crontab_reads_the_system_format_from_stdin() {
    let env = Env::sqlite();
    let cron_d = "# /etc/cron.d/app\nCRON_TZ=UTC\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n0 3 * * * www-data /usr/bin/php /srv/app/artisan schedule:run\n";
    let toml = stdout(&env.run_with_input(&["import-crontab", "--system"], cron_d).success());
    assert!(toml.ends_with(
        "\n# /etc/cron.d/app\n[jobs.run-parts-cron-hourly]\nschedule = \"17 * * * *\"\ncommand = \"cd / && run-parts --report /etc/cron.hourly\"\nuser = \"root\"\ntimezone = \"UTC\"\n\n[jobs.artisan-schedule-run]\nschedule = \"0 3 * * *\"\ncommand = \"/usr/bin/php /srv/app/artisan schedule:run\"\nuser = \"www-data\"\ntimezone = \"UTC\"\n"
    ), "{toml}");
    assert!(!toml.contains("cron ran this as"), "the user is a key now, not a comment:\n{toml}");
    env.write("jobs.toml", &toml);
    env.run(&["check"]).success().stdout(predicate::str::contains("2 jobs, 2 scheduled"));
    env.run_with_input(&["import-crontab", "--system"], "0 3 * * * /bin/true\n")
        .code(65)
        .stderr(predicate::str::contains("line 1: a system crontab line needs a user field before the command"));
    env.run_with_input(&["import-crontab", "--system"], "0 3 * * * /usr/bin/php artisan schedule:run\n").code(65).stderr(
        predicate::str::contains(
            "line 1: \"/usr/bin/php\" in the user field is not a user name (is this a user's crontab? a system crontab's lines name a user after the schedule)",
        ),
    );
}

/// A user's crontab as found on an application server: a `cd &&`, a lock,
/// php artisan, run-parts, a health-check ping, a backup piped to gzip, a
/// log clean-up, certbot, and one command twice.
const SERVER_CRONTAB: &str = r#"# Edit this file to introduce tasks to be run by cron.
SHELL=/bin/bash
MAILTO=""
PATH=/usr/local/bin:/usr/bin:/bin
*/5 * * * * cd /srv/app && python3 manage.py clearsessions >/dev/null 2>&1
* * * * * flock -n /tmp/artisan.lock /usr/bin/php /var/www/artisan schedule:run >> /dev/null 2>&1
25 6 * * * test -x /usr/sbin/anacron || run-parts /etc/cron.daily
*/10 * * * * curl -fsS -m 10 --retry 5 -o /dev/null https://hc.example.com/ping/abc
30 2 * * * pg_dump app | gzip > /backups/app-$(date +\%F).sql.gz
0 4 * * * find /var/log/app -mtime +7 -delete
17 3 * * 1 certbot renew --quiet
45 3 * * * pg_dump app | gzip > /mnt/offsite/app.sql.gz
"#;

// See: the packaging issue ("import-crontab needs no editing"): every job
// was named after its first word, `pg_dump`, `find`, `cd`.
#[test]
fn import_crontab_names_jobs_by_what_they_do() {
    let env = Env::sqlite();
    env.write("crontab", SERVER_CRONTAB);
    let toml = stdout(&env.run(&["import-crontab", "crontab"]).success().stderr(""));
    assert_eq!(
        job_names(&toml),
        [
            "manage-clearsessions",
            "artisan-schedule-run",
            "run-parts-cron-daily",
            "ping-hc-example-com",
            "pg-dump-app",
            "clean-var-log-app",
            "certbot-renew",
            "pg-dump-app-2",
        ],
        "{toml}"
    );
    env.write("jobs.toml", &toml);
    env.run(&["check"]).success().stdout(predicate::str::contains("8 jobs, 8 scheduled"));
}

#[test]
fn an_empty_mailto_leaves_no_trace() {
    let env = Env::sqlite();
    let without = stdout(&env.run_with_input(&["import-crontab"], "0 3 * * * backup.sh\n").success());
    for mailto in ["MAILTO=\"\"", "MAILTO=''", "MAILTO=", "MAILTO = \"\""] {
        let with =
            stdout(&env.run_with_input(&["import-crontab"], &format!("{mailto}\n0 3 * * * backup.sh\n")).success());
        assert_eq!(with, without, "{mailto}");
    }
    let mailed =
        stdout(&env.run_with_input(&["import-crontab"], "MAILTO=ops@example.com\n0 3 * * * backup.sh\n").success());
    assert!(mailed.contains("# MAILTO=ops@example.com: cron mailed each job's output there."), "{mailed}");
}

#[test]
fn allow_partial_reports_the_lines_it_could_not_convert_and_exits_0() {
    let env = Env::sqlite();
    env.write("crontab", "@reboot /usr/local/bin/start\n0 3 * * * backup.sh\n* * *\n");
    let problems = [
        "error: line 1: @reboot is not a schedule taskq can fire: run the command from a systemd unit at boot",
        "error: line 3: \"* * *\": a schedule line needs 5 time fields and a command",
    ];
    let strict = env.run(&["import-crontab", "crontab"]).code(65);
    assert_eq!(
        stderr(&strict).lines().collect::<Vec<_>>(),
        [problems[0], problems[1], "error: 2 lines not converted; the 1 other entry was converted"]
    );
    let partial = env.run(&["import-crontab", "--allow-partial", "crontab"]).success();
    assert_eq!(
        stderr(&partial).lines().collect::<Vec<_>>(),
        [
            problems[0],
            problems[1],
            "warning: 2 lines not converted; the 1 other entry was converted (--allow-partial: exit 0)"
        ]
    );
    assert_eq!(stdout(&partial), stdout(&strict));
    assert_eq!(job_names(&stdout(&partial)), ["backup"]);
}

/// cron keeps `${X}` in a variable as written; taskq would read X from the
/// worker's environment: such a line is reported, not carried over.
#[test]
fn a_variable_holding_dollar_brace_is_reported_not_carried_over() {
    let env = Env::sqlite();
    let crontab = "GREETING=${HOME}/x\n0 3 * * * echo \"$GREETING\"\n";
    let out = env.run_with_input(&["import-crontab"], crontab).code(65).stderr(predicate::str::contains(
        "line 1: GREETING: the value holds \"${\", which taskq reads as a variable of the worker's environment",
    ));
    let toml = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(!toml.contains("GREETING ="), "{toml}");
}
