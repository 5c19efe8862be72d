"""The Celery application, configured from Settings; the server and beat only send, workers consume.

Results go to job_runs, never to a Celery result backend. Messages are acknowledged late and one at a
time per process (prefetch 1), so a message is only ever held by a process that is running it; what a
dead worker held comes back through job_runs' leases (celery_runner.py) long before Redis' visibility
timeout, which is set past the hard time limit so that Redis never redelivers a run that is still going.
"""

from __future__ import annotations

from celery import Celery

from vtrack.jobs.celery_runner import QUEUE
from vtrack.settings import Settings


def make_celery(settings: Settings) -> Celery:
    if not settings.broker_url:
        raise ValueError("VTRACK_BROKER_URL is not set")
    app = Celery("vtrack", broker=settings.broker_url, set_as_current=False)
    hard_limit = settings.job_time_limit_seconds + settings.job_hard_limit_grace_seconds
    app.conf.update(
        task_default_queue=QUEUE,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        enable_utc=True,
        timezone="UTC",
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": int(hard_limit + 2 * settings.job_lease_seconds)},
        # A broker that is down answers the API's submit within about a second, not after minutes.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app
