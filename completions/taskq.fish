# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_taskq_global_optspecs
    string join \n f/config= broker= namespace= v/verbose q/quiet color= log-format= h/help V/version
end

function __fish_taskq_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_taskq_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_taskq_using_subcommand
    set -l cmd (__fish_taskq_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c taskq -n "__fish_taskq_needs_command" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_needs_command" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_needs_command" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_needs_command" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_needs_command" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_needs_command" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_needs_command" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c taskq -n "__fish_taskq_needs_command" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "check" -d 'Validate the config; list jobs and the next fire times of each schedule'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "enqueue" -d 'Put a job on its queue (or start a workflow\'s run) and print its id'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "run" -d 'Run a worker: take jobs from the queues and execute them'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "beat" -d 'Run the scheduler only: enqueue jobs when their schedule fires'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "exec" -d 'Run one job inline, here and now, without a broker; exit with its outcome'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "status" -d 'Show the state, attempts, times, exit code and output tail of jobs (a workflow run: its steps)'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "wait" -d 'Wait for jobs (or workflow runs) to finish; exit with their outcome'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "logs" -d 'Print a job\'s captured output'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "history" -d 'The recent runs of one job (or workflow)'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "list" -d 'List jobs, newest first'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "inspect" -d 'Queues, workers, per-job counts and schedules'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "top" -d 'Inspect full screen, read again every second (piped: inspect, once)'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "schedule" -d 'List schedules; pause, resume or trigger one (obeyed by every beat)'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "revoke" -d 'Cancel a queued, scheduled or retrying job, or what remains of a workflow run'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "retry" -d 'Requeue failed jobs'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "purge" -d 'Delete queued or failed jobs'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "import-crontab" -d 'Turn a crontab into jobs.toml entries on stdout'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "man" -d 'Print a man page: taskq(1), a command\'s, or taskq.toml(5) for the jobs file'
complete -c taskq -n "__fish_taskq_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c taskq -n "__fish_taskq_using_subcommand check" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand check" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand check" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand check" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand check" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand check" -l json -d 'Print one JSON document instead of a table'
complete -c taskq -n "__fish_taskq_using_subcommand check" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand check" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand check" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand check" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -s p -l param -d 'Set the job parameter NAME (used as {{NAME}} in jobs.toml)' -r
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l queue -d 'Put the job on this queue instead of the job\'s own (not for a job with max_concurrent, whose runs are counted on its own queue)' -r
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l delay -d 'Run no earlier than this long from now (e.g. 30s, 5m)' -r
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l at -d 'Run no earlier than this time: RFC 3339, or a local "YYYY-MM-DD HH:MM[:SS]"' -r
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l expires -d 'Drop the job as expired if it has not started this long after it became due' -r
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l key -d 'Idempotency key: a second enqueue with the same key returns the first job\'s id' -r
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l unique-for -d 'How long the key is held [default: the job\'s unique_for, else 1h]' -r
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l timeout -d 'With --wait: give up after this long (exit 75)' -r
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l batch -d 'Enqueue JSON lines {"job":..., "args":[...], "params":{...}} from FILE, or - for stdin' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l then -d 'With --batch: run this job once after every job of the batch succeeded, with their results in $TASKQ_PREV_OUTPUTS (one bad line and nothing goes in); with --wait, wait for it' -r
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l wait -d 'Wait for the job to finish and exit with its outcome'
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -l json -d 'Print {"id": ..., "duplicate": ...} instead of the bare id'
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c taskq -n "__fish_taskq_using_subcommand enqueue" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand run" -s Q -l queues -d 'Queues to serve: strict order "high,default", or weighted "high:6,default:3" [default: every queue jobs.toml names, plus default]' -r
complete -c taskq -n "__fish_taskq_using_subcommand run" -s c -l concurrency -d 'How many jobs to run at once [default: the number of CPUs]' -r
complete -c taskq -n "__fish_taskq_using_subcommand run" -l lease -d 'How long a job\'s lease lasts; renewed every third of it [default: 30s]' -r
complete -c taskq -n "__fish_taskq_using_subcommand run" -l shutdown-timeout -d 'On SIGTERM or SIGINT, how long running jobs may take to finish' -r
complete -c taskq -n "__fish_taskq_using_subcommand run" -l metrics -d 'Serve Prometheus metrics on this address, e.g. 127.0.0.1:9108' -r
complete -c taskq -n "__fish_taskq_using_subcommand run" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand run" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand run" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand run" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand run" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand run" -l beat -d 'Also run the scheduler in this process'
complete -c taskq -n "__fish_taskq_using_subcommand run" -l burst -d 'Exit once the queues hold nothing queued and nothing is running'
complete -c taskq -n "__fish_taskq_using_subcommand run" -l job-output -d 'Echo each job\'s output on stderr, each line prefixed with its id'
complete -c taskq -n "__fish_taskq_using_subcommand run" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand run" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand run" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand run" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand beat" -l metrics -d 'Serve Prometheus metrics on this address, e.g. 127.0.0.1:9108' -r
complete -c taskq -n "__fish_taskq_using_subcommand beat" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand beat" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand beat" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand beat" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand beat" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand beat" -l dry-run -d 'Print what differs from the broker\'s schedule state, and the next fires, then exit'
complete -c taskq -n "__fish_taskq_using_subcommand beat" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand beat" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand beat" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand beat" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand exec" -s p -l param -d 'Set the job parameter NAME (used as {{NAME}} in jobs.toml)' -r
complete -c taskq -n "__fish_taskq_using_subcommand exec" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand exec" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand exec" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand exec" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand exec" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand exec" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand exec" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand exec" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand exec" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand status" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand status" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand status" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand status" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand status" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand status" -l json -d 'Print JSON (one object per id, as JSON lines)'
complete -c taskq -n "__fish_taskq_using_subcommand status" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand status" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand status" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand status" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand wait" -l timeout -d 'Give up after this long (exit 75)' -r
complete -c taskq -n "__fish_taskq_using_subcommand wait" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand wait" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand wait" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand wait" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand wait" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand wait" -l json -d 'Print JSON (one object per id, as JSON lines)'
complete -c taskq -n "__fish_taskq_using_subcommand wait" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand wait" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand wait" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand wait" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand logs" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand logs" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand logs" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand logs" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand logs" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand logs" -s F -l follow -d 'Follow a running job\'s output live until it ends (`-f` after `logs` means this too; elsewhere it is --config)'
complete -c taskq -n "__fish_taskq_using_subcommand logs" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand logs" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand logs" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand logs" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand history" -l limit -d 'How many runs to show' -r
complete -c taskq -n "__fish_taskq_using_subcommand history" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand history" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand history" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand history" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand history" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand history" -l json -d 'Print JSON lines'
complete -c taskq -n "__fish_taskq_using_subcommand history" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand history" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand history" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand history" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand list" -l state -d 'Only jobs in this state: scheduled, queued, running, retrying, succeeded, failed, revoked, expired' -r
complete -c taskq -n "__fish_taskq_using_subcommand list" -l queue -d 'Only jobs on this queue' -r
complete -c taskq -n "__fish_taskq_using_subcommand list" -l job -d 'Only runs of this job' -r
complete -c taskq -n "__fish_taskq_using_subcommand list" -l limit -d 'At most this many jobs' -r
complete -c taskq -n "__fish_taskq_using_subcommand list" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand list" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand list" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand list" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand list" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand list" -l json -d 'Print JSON lines'
complete -c taskq -n "__fish_taskq_using_subcommand list" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand list" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand list" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand list" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand inspect" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand inspect" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand inspect" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand inspect" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand inspect" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand inspect" -l json -d 'Print one JSON document'
complete -c taskq -n "__fish_taskq_using_subcommand inspect" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand inspect" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand top" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand top" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand top" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand top" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand top" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand top" -l json -d 'Print one JSON document'
complete -c taskq -n "__fish_taskq_using_subcommand top" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand top" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand top" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c taskq -n "__fish_taskq_using_subcommand top" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -f -a "list" -d 'Every schedule: when it fires, whether it is paused, its last and next fire'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -f -a "pause" -d 'Stop a schedule firing on every beat until resumed (kept in the broker); its ticks are counted as skipped'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -f -a "resume" -d 'Let a paused schedule fire again, from its next tick'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -f -a "trigger" -d 'Enqueue one run of a schedule\'s job (or workflow) now, outside the schedule; print its id'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and not __fish_seen_subcommand_from list pause resume trigger help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from list" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from list" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from list" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from list" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from list" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from pause" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from pause" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from pause" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from pause" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from pause" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from pause" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from pause" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from pause" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from pause" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from resume" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from resume" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from resume" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from resume" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from resume" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from resume" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from resume" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from resume" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from resume" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from trigger" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from trigger" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from trigger" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from trigger" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from trigger" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from trigger" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from trigger" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from trigger" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from trigger" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "list" -d 'Every schedule: when it fires, whether it is paused, its last and next fire'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "pause" -d 'Stop a schedule firing on every beat until resumed (kept in the broker); its ticks are counted as skipped'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "resume" -d 'Let a paused schedule fire again, from its next tick'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "trigger" -d 'Enqueue one run of a schedule\'s job (or workflow) now, outside the schedule; print its id'
complete -c taskq -n "__fish_taskq_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c taskq -n "__fish_taskq_using_subcommand revoke" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand revoke" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand revoke" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand revoke" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand revoke" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand revoke" -l terminate -d 'Also kill the job if it is running (a workflow run: its running jobs)'
complete -c taskq -n "__fish_taskq_using_subcommand revoke" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand revoke" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand revoke" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand revoke" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand retry" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand retry" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand retry" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand retry" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand retry" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand retry" -l all-failed -d 'Requeue every failed job'
complete -c taskq -n "__fish_taskq_using_subcommand retry" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand retry" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand retry" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand retry" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand purge" -l queue -d 'Delete the jobs queued on this queue' -r
complete -c taskq -n "__fish_taskq_using_subcommand purge" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand purge" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand purge" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand purge" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand purge" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand purge" -l failed -d 'Delete the failed jobs'
complete -c taskq -n "__fish_taskq_using_subcommand purge" -l yes -d 'Do not ask for confirmation'
complete -c taskq -n "__fish_taskq_using_subcommand purge" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand purge" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand purge" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand purge" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand import-crontab" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand import-crontab" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand import-crontab" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand import-crontab" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand import-crontab" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand import-crontab" -l system -d 'Read the /etc/crontab and /etc/cron.d format, with its user field (written as each job\'s `user`)'
complete -c taskq -n "__fish_taskq_using_subcommand import-crontab" -l allow-partial -d 'Exit 0 even when some lines could not be converted'
complete -c taskq -n "__fish_taskq_using_subcommand import-crontab" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand import-crontab" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand import-crontab" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c taskq -n "__fish_taskq_using_subcommand import-crontab" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand completions" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand completions" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand completions" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand completions" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand completions" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand completions" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand completions" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand completions" -s h -l help -d 'Print help'
complete -c taskq -n "__fish_taskq_using_subcommand completions" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand man" -s f -l config -d 'The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]' -r -F
complete -c taskq -n "__fish_taskq_using_subcommand man" -l broker -d 'Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db' -r -f
complete -c taskq -n "__fish_taskq_using_subcommand man" -l namespace -d 'Key prefix, so several applications can share one broker [default: taskq]' -r
complete -c taskq -n "__fish_taskq_using_subcommand man" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c taskq -n "__fish_taskq_using_subcommand man" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c taskq -n "__fish_taskq_using_subcommand man" -s v -l verbose -d 'Log more (repeat for more detail)'
complete -c taskq -n "__fish_taskq_using_subcommand man" -s q -l quiet -d 'Log less (repeat to silence warnings too)'
complete -c taskq -n "__fish_taskq_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c taskq -n "__fish_taskq_using_subcommand man" -s V -l version -d 'Print version'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "check" -d 'Validate the config; list jobs and the next fire times of each schedule'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "enqueue" -d 'Put a job on its queue (or start a workflow\'s run) and print its id'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "run" -d 'Run a worker: take jobs from the queues and execute them'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "beat" -d 'Run the scheduler only: enqueue jobs when their schedule fires'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "exec" -d 'Run one job inline, here and now, without a broker; exit with its outcome'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "status" -d 'Show the state, attempts, times, exit code and output tail of jobs (a workflow run: its steps)'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "wait" -d 'Wait for jobs (or workflow runs) to finish; exit with their outcome'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "logs" -d 'Print a job\'s captured output'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "history" -d 'The recent runs of one job (or workflow)'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "list" -d 'List jobs, newest first'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "inspect" -d 'Queues, workers, per-job counts and schedules'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "top" -d 'Inspect full screen, read again every second (piped: inspect, once)'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "schedule" -d 'List schedules; pause, resume or trigger one (obeyed by every beat)'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "revoke" -d 'Cancel a queued, scheduled or retrying job, or what remains of a workflow run'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "retry" -d 'Requeue failed jobs'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "purge" -d 'Delete queued or failed jobs'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "import-crontab" -d 'Turn a crontab into jobs.toml entries on stdout'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "completions" -d 'Print shell completions'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "man" -d 'Print a man page: taskq(1), a command\'s, or taskq.toml(5) for the jobs file'
complete -c taskq -n "__fish_taskq_using_subcommand help; and not __fish_seen_subcommand_from check enqueue run beat exec status wait logs history list inspect top schedule revoke retry purge import-crontab completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c taskq -n "__fish_taskq_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "list" -d 'Every schedule: when it fires, whether it is paused, its last and next fire'
complete -c taskq -n "__fish_taskq_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "pause" -d 'Stop a schedule firing on every beat until resumed (kept in the broker); its ticks are counted as skipped'
complete -c taskq -n "__fish_taskq_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "resume" -d 'Let a paused schedule fire again, from its next tick'
complete -c taskq -n "__fish_taskq_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "trigger" -d 'Enqueue one run of a schedule\'s job (or workflow) now, outside the schedule; print its id'
