"""The distributed runner: runs go to Celery workers through the broker, their state stays in job_runs.

The job_runs row is the truth, the broker message only a wake-up call, so every guarantee is a
conditional UPDATE on that row rather than something asked of Redis:
- idempotent: the Celery task id is the run id, and a worker *claims* the run (queued, or running with
  a lapsed lease) before it runs it; a second delivery of the same message finds it claimed and does
  nothing, so duplicates from redelivery, retries or recovery never run a job twice at once;
- heartbeat: the worker running a run pushes `lease_expires_at` ahead every third of the lease; if it
  finds the run taken from it, it cancels its copy;
- recovery: every server and worker looks for running rows whose lease lapsed (their worker died,
  SIGKILL, OOM, a lost host) and hands them to the broker again, up to `job_max_attempts`; the job
  functions are written to resume (a sync skips what is archived and fetches the rest);
- retries: a transient error (network, database connection, disk) sends the run back with exponential
  backoff; time limits: a soft limit cancels the job function, a hard one (Celery's) kills the process.

Status and progress are written by the worker straight into job_runs, so the API reads them exactly as
it reads the embedded runner's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import DBAPIError

from vtrack.db.locks import NamedLocks
from vtrack.db.models import JobRun
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.errors import ServiceUnavailableError
from vtrack.jobs.execution import FINISHED, Execution, JobTimeLimitExceeded, create_run, find_spec, set_state
from vtrack.jobs.registry import JobRegistry, schedule_key
from vtrack.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

TASK_RUN = "vtrack.run"
TASK_SCHEDULED = "vtrack.scheduled"
QUEUE = "vtrack"
MAX_RETRY_DELAY = 600.0


def transient(exc: Exception) -> bool:
    """Worth another attempt: the network, the database connection or the disk, not the job's logic."""
    if isinstance(exc, JobTimeLimitExceeded):
        return False
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or type(exc.orig).__name__ in {
            "OperationalError",
            "InterfaceError",
            "ConnectionDoesNotExistError",
            "CannotConnectNowError",
        }
    return isinstance(exc, OSError)


@dataclass
class Schedule:
    name: str
    every_seconds: float
    params: dict[str, Any] = field(default_factory=dict)


class CeleryRunner:
    def __init__(self, database: Database, registry: JobRegistry, settings: Settings, celery: Celery) -> None:
        self.database = database
        self.registry = registry
        self.settings = settings
        self.celery = celery
        self.services: Any = None
        self.lease = timedelta(seconds=settings.job_lease_seconds)
        # A queued run whose message was lost (a producer or a worker holding a delayed retry died) is
        # sent again after this long; a duplicate message is harmless, the claim drops it.
        self.requeue_grace = max(600.0, 10 * settings.job_lease_seconds)
        self._schedules: dict[str, Schedule] = {}
        self._recovery: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._locks = NamedLocks(database)

    @property
    def node(self) -> str:
        """Each prefork process is a worker of its own: "<VTRACK_NODE_NAME or host>:<pid>"."""
        return f"{self.settings.node_name or socket.gethostname()}:{os.getpid()}"

    # -- the producer side (server, beat, and jobs that start jobs) ---------------------------------

    async def start(self) -> None:
        """Unlike the embedded runner, runs left unfinished are not failed here: workers may hold them."""
        self._stopping = asyncio.Event()
        self._recovery = asyncio.create_task(self._recover_forever(), name="job-recovery")

    async def stop(self) -> None:
        self._stopping.set()
        if self._recovery is not None:
            await self._recovery
            self._recovery = None

    async def submit(self, name: str, params: dict[str, Any] | None = None, trigger: str = "manual") -> str:
        run = await create_run(self.database, find_spec(self.registry, name), params, trigger)
        try:
            await self._send(run.id)
        except Exception as exc:
            await set_state(
                self.database, run.id, status="failed", error=f"not queued: {exc}", finished_at=utcnow()
            )
            raise ServiceUnavailableError(f"the job broker is unreachable: {exc}") from exc
        return run.id

    def schedule(self, name: str, every_seconds: float, params: dict[str, Any] | None = None) -> None:
        find_spec(self.registry, name).validate_params(params or {})
        if every_seconds <= 0:
            raise ValueError("every_seconds must be positive")
        self._schedules[schedule_key(name, params or {})] = Schedule(name, every_seconds, params or {})

    def schedules(self) -> list[dict[str, Any]]:
        return [
            {"name": s.name, "everySeconds": s.every_seconds, "lastRunId": None}
            for s in self._schedules.values()
        ]

    def beat_schedule(self) -> dict[str, dict[str, Any]]:
        """Celery beat's entries: each sends the scheduled task, which starts a run unless one is going."""
        return {
            key: {"task": TASK_SCHEDULED, "schedule": s.every_seconds, "args": (s.name, s.params)}
            for key, s in self._schedules.items()
        }

    async def wait(self, run_id: str) -> None:
        while True:
            async with self.database.session() as session:
                status = await session.scalar(select(JobRun.status).where(JobRun.id == run_id))
            if status is None or status in FINISHED:
                return
            await asyncio.sleep(0.2)

    def hard_limit(self) -> float:
        return self.settings.job_time_limit_seconds + self.settings.job_hard_limit_grace_seconds

    async def _send(self, run_id: str, countdown: float | None = None) -> None:
        await asyncio.to_thread(
            self.celery.send_task,
            TASK_RUN,
            args=[run_id],
            task_id=run_id,
            queue=QUEUE,
            countdown=countdown,
            time_limit=int(self.hard_limit()),
        )

    # -- the worker side ----------------------------------------------------------------------------

    async def claim(self, run_id: str) -> JobRun | None:
        """Take the run for this worker, or None when it is finished or another worker holds it."""
        now = utcnow()
        statement = (
            update(JobRun)
            .where(
                JobRun.id == run_id,
                or_(
                    JobRun.status == "queued",
                    and_(JobRun.status == "running", JobRun.lease_expires_at < now),
                ),
            )
            .values(
                status="running",
                worker=self.node,
                lease_expires_at=now + self.lease,
                started_at=func.coalesce(JobRun.started_at, now),
                attempts=JobRun.attempts + 1,
                message=None,  # an earlier attempt's "failed; next in N s": the job reports its own
            )
        )
        async with self.database.transaction() as session:
            claimed = (await session.execute(statement)).rowcount  # type: ignore[attr-defined]
            return await session.get(JobRun, run_id) if claimed else None

    async def execute(self, run_id: str) -> Execution | None:
        """Run a run this worker could claim; its outcome says whether Celery should retry it."""
        run = await self.claim(run_id)
        if run is None:
            log.info("job run %s is finished or held by another worker; this delivery is dropped", run_id)
            return None
        spec = self.registry.get(run.name)
        if spec is None:
            await set_state(
                self.database,
                run_id,
                status="failed",
                error=f"unknown job {run.name!r}",
                finished_at=utcnow(),
            )
            return None
        execution = Execution(
            self.database,
            spec,
            run_id,
            run.params,
            self.services,
            worker=self.node,
            soft_limit=self.settings.job_time_limit_seconds,
            retry=self.retry_delay,
            attempt=run.attempts,
            max_attempts=self.settings.job_max_attempts,
            cancelled_status=None,  # stopped with its process: recovery resumes it elsewhere
            requeue_grace=self.requeue_grace,
        )
        job = asyncio.create_task(execution.run(mark_running=False), name=f"job:{run.name}")
        heartbeat = asyncio.create_task(self._heartbeat(run_id, job, execution), name=f"lease:{run_id}")
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await job
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return execution

    async def run_scheduled(self, name: str, params: dict[str, Any]) -> str | None:
        """Beat's tick: start the run here unless the last one of this schedule is still going."""
        spec = find_spec(self.registry, name)
        checked = spec.validate_params(params)
        # Ticks pile up in the queue while the workers are busy, and two workers may take two at once:
        # the check and the new row go together, one tick at a time, so the second finds the first's run.
        async with self._locks.hold(f"job schedule {schedule_key(name, checked)}"):
            now = utcnow()
            async with self.database.session() as session:
                going = await session.scalars(
                    select(JobRun.params).where(
                        JobRun.name == name,
                        or_(
                            JobRun.status == "queued",
                            and_(JobRun.status == "running", JobRun.lease_expires_at >= now),
                        ),
                    )
                )
                if any(p == checked for p in going):
                    log.info("scheduled job %s skipped: its previous run is still going", name)
                    return None
            run = await create_run(self.database, spec, checked, trigger="schedule")
        execution = await self.execute(run.id)
        if execution is not None and execution.retry_in is not None:
            await self._send(run.id, countdown=execution.retry_in)
        return run.id

    def retry_delay(self, exc: Exception, attempt: int) -> float | None:
        """Exponential backoff with jitter, so runs that failed together do not retry together."""
        if not transient(exc):
            return None
        delay = self.settings.job_retry_seconds * 2 ** (attempt - 1)
        return float(min(MAX_RETRY_DELAY, delay * random.uniform(0.8, 1.2)))  # noqa: S311  (jitter, not secrets)

    async def _heartbeat(self, run_id: str, job: asyncio.Task[Any], execution: Execution) -> None:
        every = self.lease.total_seconds() / 3
        while not job.done():
            await asyncio.sleep(every)
            try:
                held = await set_state(
                    self.database,
                    run_id,
                    only_unfinished=True,
                    held_by=self.node,
                    lease_expires_at=utcnow() + self.lease,
                )
            except Exception:  # the database is away: keep trying until the lease would lapse
                log.warning("could not renew the lease of job run %s", run_id, exc_info=True)
                continue
            if not held and not job.done() and not execution.ending:  # not: its retry was just written
                log.error("job run %s was taken over by another worker; stopping this copy", run_id)
                job.cancel()
                return

    # -- recovery -----------------------------------------------------------------------------------

    async def _recover_forever(self) -> None:
        every = self.lease.total_seconds() / 3
        while not self._stopping.is_set():
            try:
                await self.recover()
            except Exception:
                log.exception("job recovery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), every)

    async def recover(self) -> list[str]:
        """Hand runs whose worker stopped heartbeating to the broker again, and queued runs whose message
        seems lost; give up after max attempts or past the hard limit."""
        return [*await self._recover_lapsed(), *await self._resend_stale_queued()]

    async def _recover_lapsed(self) -> list[str]:
        now = utcnow()
        lapsed = and_(JobRun.status == "running", JobRun.lease_expires_at < now)
        async with self.database.session() as session:
            rows = (
                await session.execute(
                    select(JobRun.id, JobRun.attempts, JobRun.started_at, JobRun.worker).where(lapsed)
                )
            ).all()
        resent: list[str] = []
        hard = timedelta(seconds=self.hard_limit())
        for run_id, attempts, started_at, worker in rows:
            if started_at is not None and started_at + hard <= now:
                error = f"stopped at the hard time limit ({self.hard_limit():g} s) on {worker}"
            elif attempts >= self.settings.job_max_attempts:
                error = f"its worker ({worker}) stopped, {attempts} attempt(s); giving up"
            else:
                error = None
            values: dict[str, Any]
            if error is not None:
                values = {"status": "failed", "error": error, "finished_at": now}
            else:
                values = {
                    "status": "queued",
                    "worker": None,
                    "lease_expires_at": now + timedelta(seconds=self.requeue_grace),
                    "message": f"worker {worker} stopped; resuming on another worker",
                }
            if await self._take(run_id, lapsed, values) and error is None:
                log.warning("job run %s lost its worker %s; queued again", run_id, worker)
                await self._send(run_id)
                resent.append(run_id)
        return resent

    async def _resend_stale_queued(self) -> list[str]:
        now = utcnow()
        grace = timedelta(seconds=self.requeue_grace)
        stale = and_(
            JobRun.status == "queued",
            or_(
                JobRun.lease_expires_at < now,
                and_(JobRun.lease_expires_at.is_(None), JobRun.created_at < now - grace),
            ),
        )
        async with self.database.session() as session:
            run_ids = list(await session.scalars(select(JobRun.id).where(stale)))
        resent: list[str] = []
        for run_id in run_ids:
            if await self._take(run_id, stale, {"lease_expires_at": now + grace}):
                log.warning("job run %s waited %s without a worker; sending it again", run_id, grace)
                await self._send(run_id)
                resent.append(run_id)
        return resent

    async def _take(self, run_id: str, condition: Any, values: dict[str, Any]) -> bool:
        """One conditional update, so of several servers and workers recovering at once only one acts."""
        async with self.database.transaction() as session:
            result = await session.execute(
                update(JobRun).where(JobRun.id == run_id, condition).values(**values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
