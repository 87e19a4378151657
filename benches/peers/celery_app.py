"""Celery's side of benches/peers/run: the tasks, and the enqueuers.

Worker:   celery -A celery_app worker -Q peers ...   (cwd: this folder)
Enqueue:  python celery_app.py enqueue               one send_task, then exit
Bulk:     python celery_app.py bulk KIND N           N send_task calls on one
          producer (one connection); Celery has no bulk publish API

Environment: PEERS_BROKER (redis://...), PEERS_URL (the HTTP target),
PEERS_DONE (the counter key each task INCRs, so the harness can count
completions: Celery keeps no count without a result backend),
PEERS_PREFETCH (worker_prefetch_multiplier).

Configuration, and why:
- task_ignore_result=True: no result backend round trips (taskq's HTTP
  jobs set ignore_result too; its shell jobs keep their record).
- worker_prefetch_multiplier=PEERS_PREFETCH: short tasks want a deep
  prefetch (Celery's "Optimizing" guide); the harness sets it per pool.
- worker_disable_rate_limits=True: the guide's advice when no task has a
  rate limit.
- no events (worker_send_task_events=False, the default; no -E), and the
  harness starts the worker with --without-gossip --without-mingle
  --without-heartbeat.
"""

import os
import subprocess
import sys
import threading

from celery import Celery

BROKER = os.environ.get("PEERS_BROKER", "redis://127.0.0.1:6379/0")
DONE = os.environ.get("PEERS_DONE", "peers:done")
URL = os.environ.get("PEERS_URL", "http://127.0.0.1/ok")

app = Celery("peers", broker=BROKER)
app.conf.update(
    task_default_queue="peers",
    task_ignore_result=True,
    worker_prefetch_multiplier=int(os.environ.get("PEERS_PREFETCH", "4")),
    worker_disable_rate_limits=True,
    worker_send_task_events=False,
    task_send_sent_event=False,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_local = threading.local()
_redis = None


def _done():
    # One INCR per task: the harness's only way to count Celery's
    # completions without a result backend (a client per process, made
    # after the prefork fork; redis-py's client is thread-safe).
    global _redis
    if _redis is None:
        import redis
        _redis = redis.Redis.from_url(BROKER)
    _redis.incr(DONE)


@app.task(name="peers.noop")
def noop():
    _done()


@app.task(name="peers.shell")
def shell():
    subprocess.run(["true"], check=True)
    _done()


@app.task(name="peers.http")
def http():
    # One requests.Session per worker thread: keep-alive to nginx.
    s = getattr(_local, "session", None)
    if s is None:
        import requests
        s = _local.session = requests.Session()
    r = s.get(URL, timeout=30)
    r.raise_for_status()
    _done()


def main():
    what = sys.argv[1]
    if what == "enqueue":
        app.send_task("peers.noop")
    elif what == "bulk":
        kind, n = sys.argv[2], int(sys.argv[3])
        name = f"peers.{kind}"
        with app.producer_or_acquire() as producer:
            for _ in range(n):
                app.send_task(name, producer=producer)
    else:
        sys.exit(f"unknown command {what}")


if __name__ == "__main__":
    main()
