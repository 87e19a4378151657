//! The naming rules on commands from real crontabs.

use super::*;

#[track_caller]
fn names(cases: &[(&str, &str)]) {
    for (command, want) in cases {
        assert_eq!(name_for(command), *want, "{command}");
    }
}

// See: the packaging issue ("import-crontab needs no editing"): names
// came from the first word, so every pg_dump line was `pg_dump`.
#[test]
fn the_issues_examples_are_named_by_what_they_do() {
    names(&[
        ("pg_dump app | gzip > /backups/app-$(date +%F).sql.gz", "pg-dump-app"),
        ("find /var/log/app -mtime +7 -delete", "clean-var-log-app"),
    ]);
}

#[test]
fn set_up_steps_and_wrappers_are_looked_through() {
    names(&[
        ("cd /srv/app && python3 manage.py clearsessions", "manage-clearsessions"),
        ("cd /srv/app; ./bin/sync-inventory", "sync-inventory"),
        ("PATH=/x nice -n 10 python3 /opt/jobs/clean_tmp.py", "clean-tmp"),
        ("flock -n /tmp/lock /usr/bin/rsync -a /srv/data/ backup:/data", "rsync-data"),
        ("ionice -c3 nice -n19 timeout 2h /usr/local/bin/backup.sh --full", "backup"),
        ("chronic sudo -u www-data /usr/bin/php /var/www/artisan schedule:run", "artisan-schedule-run"),
        ("/usr/bin/env python3 -u /srv/reports/send_report.py weekly", "send-report-weekly"),
        ("nohup setlock -n /run/lock/x /usr/local/bin/index-mail >/dev/null 2>&1 &", "index-mail"),
        ("sleep $((RANDOM % 300)) && certbot renew --quiet --post-hook 'systemctl reload nginx'", "certbot-renew"),
        ("flock -xn /tmp/a.lock -c 'cd /srv && bin/console cache:clear'", "console-cache-clear"),
        ("su - deploy -c \"bash -lc 'php artisan queue:restart'\"", "artisan-queue-restart"),
        ("test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )", "run-parts-cron-daily"),
        ("perl -e 'sleep int(rand(43200))' && certbot -q renew", "certbot-renew"),
        ("sh -c 'sleep 5' && /usr/local/bin/rotate-keys", "rotate-keys"),
        (
            "[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi",
            "sessionclean",
        ),
    ]);
}

#[test]
fn programs_are_named_by_their_first_telling_operand() {
    names(&[
        ("/usr/bin/php /var/www/artisan schedule:run >> /dev/null 2>&1", "artisan-schedule-run"),
        ("php -f /var/www/nextcloud/cron.php", "nextcloud-cron"),
        ("run-parts /etc/cron.daily", "run-parts-cron-daily"),
        ("systemctl restart nginx", "systemctl-restart-nginx"),
        ("pg_dump -U postgres -Fc shop > /backups/shop.dump", "pg-dump-shop"),
        ("psql -h db -d analytics -c 'REFRESH MATERIALIZED VIEW daily'", "psql-analytics"),
        ("mysqldump -u root -p\"$PW\" --single-transaction crm | gzip > crm.sql.gz", "mysqldump-crm"),
        ("/usr/sbin/logrotate /etc/logrotate.conf", "logrotate"),
        ("date +\\%F >> monthly.txt", "date"),
        ("docker system prune -af", "docker-system-prune"),
        ("/usr/bin/docker exec -u www-data nextcloud php cron.php", "docker-exec-nextcloud"),
        ("restic -r /srv/restic backup /home --exclude-caches", "restic-backup"),
        ("php artisan queue:work --stop-when-empty --queue emails", "artisan-queue-work-emails"),
        ("java -Xmx1g -jar /opt/reports/report.jar", "report"),
        ("python3 -m myapp.tasks nightly", "myapp-tasks-nightly"),
        ("$HOME/bin/backup.sh", "backup"),
    ]);
}

#[test]
fn cleaning_and_fetching_have_their_own_names() {
    names(&[
        ("find /tmp -type f -mtime +7 -exec rm -f {} \\;", "clean-tmp"),
        ("find /srv/app/storage/logs -name '*.log' -mtime +30 | xargs rm -f", "clean-app-storage-logs"),
        ("cd /var/cache/app && find . -mmin +60 -delete", "clean-var-cache-app"),
        ("find / -xdev -name core -print", "find"),
        ("curl -fsS -m 10 --retry 5 -o /dev/null https://hc.example.com/ping/abc", "ping-hc-example-com"),
        ("curl -fsS https://hc-ping.com/eb095278-f28d-448d-87fb-7b75c171a6aa", "hc-ping-com"),
        ("wget -q -O - https://user:secret@www.example.com/wp-cron.php?doing_wp_cron", "wp-cron-example-com"),
        ("curl -H 'Authorization: Bearer x' http://localhost:8080/api/v1/reports/daily", "reports-localhost"),
        ("wget -q -O /dev/null 'http://localhost/index.php?cron=1'", "localhost"),
    ]);
}

#[test]
fn any_input_gives_a_valid_bounded_name() {
    let long = format!("/opt/{}/run.sh", "very-long-directory-name-".repeat(4));
    for command in ["", "   ", "%%%", "'", "$(", "\u{1b}[2J", "ñandú", ">/dev/null", "a=b", "cd /", "sleep 60", &long]
    {
        let name = name_for(command);
        assert!(crate::names::JobName::new(&name).is_ok(), "{command:?}: {name:?}");
        assert!(name.len() <= MAX_LEN, "{command:?}: {name:?}");
    }
    names(&[("", "job"), ("ñandú", "and"), ("sleep 60", "sleep"), ("cd /", "cd")]);
    assert_eq!(clip("a-bb-ccc", 5), "a-bb");
    assert_eq!(clip("abcdefgh", 5), "abcde");
}

#[test]
fn repeated_names_get_a_number_within_the_limit() {
    let mut taken = HashSet::new();
    assert_eq!(unique_name("backup.sh", &mut taken), "backup");
    assert_eq!(unique_name("/other/backup.sh", &mut taken), "backup-2");
    assert_eq!(unique_name("backup.sh --again", &mut taken), "backup-3");
    let long = "certbot renew-all-the-certificates-of-every-domain-here";
    let first = unique_name(long, &mut taken);
    let second = unique_name(long, &mut taken);
    assert!(first.len() <= MAX_LEN && second.len() <= MAX_LEN && second.ends_with("-2"), "{first} {second}");
    assert_ne!(first, second);
}
