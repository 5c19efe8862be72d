"""Celery's entry point for the job processes of `vtrack worker`: `celery -A vtrack.jobs.celery_worker`.

Each prefork process builds its own services (database pool, HTTP client, archive) once, and runs one
asyncio loop in a thread of its own for its whole life: the job functions are coroutines, and the
database pool and clients belong to the loop that made them, so a loop per task would not do. The task
body hands the coroutine to that loop and waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from celery import Task
from celery.signals import worker_process_init, worker_process_shutdown

from vtrack.events.relay import node_bridge
from vtrack.jobs.celery_app import make_celery
from vtrack.jobs.celery_runner import TASK_RUN, TASK_SCHEDULED, CeleryRunner
from vtrack.services import Services
from vtrack.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

settings = Settings()
app = make_celery(settings)


class ProcessNode:
    """The services and event loop of one worker process."""

    def __init__(self, settings: Settings) -> None:
        from vtrack.app import build_services  # the app module builds everything; import it only here

        logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin registry is chatty on import
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="vtrack-jobs", daemon=True)
        self.thread.start()
        self.services: Services = build_services(settings)
        if not isinstance(self.services.jobs, CeleryRunner):
            raise RuntimeError("vtrack worker needs VTRACK_BROKER_URL")
        self.runner: CeleryRunner = self.services.jobs
        # Events of jobs here (a health round's status changes) reach the server's live pages via Redis.
        self.bridge = node_bridge(settings, self.services.events)
        if self.bridge is not None:
            self.call(self.bridge.start())

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except BaseException:
            # Celery is stopping this task (shutdown, a signal): cancel the coroutine so that it writes
            # its state, and give it a moment to.
            future.cancel()
            raise

    def close(self) -> None:
        async def closing() -> None:
            if self.bridge is not None:
                await self.bridge.stop()
            await self.services.http.aclose()
            await self.services.blobs.close()
            await self.services.database.dispose()

        try:
            asyncio.run_coroutine_threadsafe(closing(), self.loop).result(timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)


_node: ProcessNode | None = None


def node() -> ProcessNode:
    global _node
    if _node is None:
        _node = ProcessNode(settings)
    return _node


@worker_process_init.connect
def _start_process(**_: Any) -> None:
    from vtrack.cli_worker import die_with_parent

    die_with_parent()  # a job process never outlives its worker: a killed worker's runs move elsewhere
    node()


@worker_process_shutdown.connect
def _stop_process(**_: Any) -> None:
    if _node is not None:
        _node.close()


@app.task(name=TASK_RUN, bind=True, max_retries=None)
def run_job(task: Task[[str], None], run_id: str) -> None:
    """One delivery of one run: claim it, run it, and hand a transient failure back with its backoff."""
    process = node()
    execution = process.call(process.runner.execute(run_id))
    if execution is not None and execution.retry_in is not None:
        raise task.retry(countdown=execution.retry_in)


@app.task(name=TASK_SCHEDULED)
def run_scheduled(name: str, params: dict[str, Any]) -> None:
    process = node()
    process.call(process.runner.run_scheduled(name, params))
