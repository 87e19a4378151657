"""RQ's side of benches/peers/run: the job functions, and the enqueuers.

Worker:   rq worker-pool -n N -u URL --path THIS_FOLDER [--burst] peers
Enqueue:  python rq_jobs.py enqueue            one Queue.enqueue, then exit
          (a short script rather than the `rq enqueue` CLI, which imports
          click and the CLI on top: the script is the library's own cost)
Bulk:     python rq_jobs.py bulk KIND N        Queue.enqueue_many in
          chunks of 1,000, each in one pipeline (RQ's documented bulk way)

Environment: PEERS_BROKER (redis://...), PEERS_URL (the HTTP target).

Configuration: RQ's defaults. Its Worker forks a work horse per job, so a
job costs a fork whatever it does; results are kept (result_ttl 500 s)
and each finished job enters the finished registry, which the harness
counts (ZCARD rq:finished:peers). A requests.Session cannot keep a
connection alive across jobs: each job's horse is a fresh fork.
"""

import os
import subprocess
import sys

BROKER = os.environ.get("PEERS_BROKER", "redis://127.0.0.1:6379/0")
URL = os.environ.get("PEERS_URL", "http://127.0.0.1/ok")
CHUNK = 1000

_session = None


def noop():
    pass


def shell():
    subprocess.run(["true"], check=True)


def http():
    global _session
    if _session is None:
        import requests
        _session = requests.Session()
    r = _session.get(URL, timeout=30)
    r.raise_for_status()


def main():
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(BROKER)
    q = Queue("peers", connection=conn)
    what = sys.argv[1]
    if what == "enqueue":
        q.enqueue("rq_jobs.noop")
    elif what == "bulk":
        kind, n = sys.argv[2], int(sys.argv[3])
        func = f"rq_jobs.{kind}"
        left = n
        while left:
            k = min(CHUNK, left)
            with conn.pipeline() as pipe:
                q.enqueue_many([Queue.prepare_data(func) for _ in range(k)], pipeline=pipe)
                pipe.execute()
            left -= k
    else:
        sys.exit(f"unknown command {what}")


if __name__ == "__main__":
    main()
