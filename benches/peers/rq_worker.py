"""The worker class benches/peers/run gives RQ (`rq worker-pool -w
rq_worker.PreloadedWorker`): RQ's own default Worker, forking a work horse
per job, but loaded with the job module and its libraries first, as RQ's
"Performance notes" advise, so that each horse inherits them instead of
importing them again."""

import requests  # noqa: F401
import rq_jobs  # noqa: F401
from rq import Worker


class PreloadedWorker(Worker):
    pass
