"""Sync as the product runs it: a job per run, a status per source, and the auto-sync scheduler.

Seed 001: saving an NVR source starts a sync within seconds and then every 10 minutes, with no clicks.
The scheduler is one asyncio task that looks every `tick` seconds for sources whose `next_run_at` has
come and submits a `sync.source` job for each; the job sets the next time when it ends. How a run ends
decides when the next one comes:
- success: `interval` later;
- a device or network failure: backoff, `interval * 2^failures`, at most 6 hours, so a dead NVR is not
  polled every few minutes forever;
- refused credentials: never, until the source's credentials change or someone syncs by hand (a retry
  storm of bad logins locks accounts on most NVRs);
- the archive disk below its reserve: paused, looked at again after `interval`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from vtrack.archive.errors import ArchiveError
from vtrack.db.locks import NamedLocks
from vtrack.db.repositories.sync import SyncRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.devices.errors import DeviceError
from vtrack.jobs.registry import JobContext, JobRegistry, JobResult
from vtrack.jobs.runner import JobRunner
from vtrack.sync.engine import ProgressCallback, SyncAuthError, SyncOutcome, SyncRequest
from vtrack.sync.progress import SyncProgress

log = logging.getLogger(__name__)

SYNC_JOB = "sync.source"
MAX_BACKOFF = timedelta(hours=6)


class Engine(Protocol):
    """A device engine (sync/engine.py) or a cloud one (sync/cloud.py): the coordinator runs either."""

    async def run(self, request: SyncRequest, report: ProgressCallback | None = None) -> SyncOutcome: ...


class SyncParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_id: str = Field(min_length=1, max_length=36)
    start: datetime | None = None
    end: datetime | None = None
    camera_ids: list[str] | None = Field(default=None, max_length=1000)


class SyncCoordinator:
    def __init__(
        self,
        database: Database,
        jobs: JobRunner,
        engine: Callable[[], Engine],
        *,
        lookback: timedelta,
        interval_seconds: int,
        tick_seconds: float = 2.0,
    ) -> None:
        self.database = database
        self.jobs = jobs
        self.engine = engine
        self.lookback = lookback
        self.interval_seconds = interval_seconds
        self.tick_seconds = tick_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # One run per source at a time, across every worker process too (an advisory lock on
        # PostgreSQL): two runs would plan and fetch the same chunks.
        self._locks = NamedLocks(database)

    # -- asking for runs -----------------------------------------------------------------------------

    async def submit(
        self,
        source_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        camera_ids: list[str] | None = None,
        trigger: str = "manual",
    ) -> str:
        params: dict[str, Any] = {"source_id": source_id, "camera_ids": camera_ids}
        if start is not None:
            params["start"] = start.isoformat()
        if end is not None:
            params["end"] = end.isoformat()
        job_id = await self.jobs.submit(SYNC_JOB, params, trigger=trigger)
        async with self.database.transaction() as session:
            status = await SyncRepository(session).status(source_id)
            status.last_job_id = job_id
            status.next_run_at = None  # the run sets the next one when it ends
        return job_id

    # -- the scheduler -------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="sync-scheduler")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:  # a database hiccup must not end auto-sync for good
                log.exception("sync scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.tick_seconds)

    async def tick(self) -> list[str]:
        async with self.database.session() as session:
            due = [status.source_id for status in await SyncRepository(session).due(utcnow())]
        return [await self.submit(source_id, trigger="schedule") for source_id in due]

    # -- the job -------------------------------------------------------------------------------------

    async def run(self, ctx: JobContext) -> JobResult:
        params = SyncParams.model_validate(ctx.params)

        async def report(progress: SyncProgress) -> None:
            await ctx.report(
                progress.fraction,
                f"{progress.segments_done} of {progress.segments_total} segments",
                progress.as_dict(),
            )

        outcome = await self.run_now(
            params.source_id, params.start, params.end, params.camera_ids, report=report, job_id=ctx.run_id
        )
        return outcome.as_dict()

    async def run_now(
        self,
        source_id: str,
        start: datetime | None = None,
        end: datetime | None = None,
        camera_ids: list[str] | None = None,
        *,
        report: ProgressCallback | None = None,
        job_id: str | None = None,
    ) -> SyncOutcome:
        """One run, with the source's status kept as the job keeps it (the CLI calls this directly)."""
        async with self._locks.hold(f"sync:{source_id}"):
            now = utcnow()
            async with self.database.transaction() as session:
                status = await SyncRepository(session).status(source_id)
                status.state, status.last_run_at = "running", now
                status.last_job_id = job_id or status.last_job_id
                interval = status.interval_seconds
            request = SyncRequest(source_id, start or now - self.lookback, end or now, camera_ids)
            try:
                outcome = await self.engine().run(request, report)
            except SyncAuthError as error:
                await self._ended(source_id, "error", error.message, "auth", next_run=None)
                raise
            except ArchiveError as error:  # full below the reserve, or the directory unusable
                await self._ended(source_id, "paused", error.message, "disk", next_in=interval)
                raise
            except DeviceError as error:
                await self._failed(source_id, error)
                raise
            except asyncio.CancelledError:
                await self._ended(source_id, "idle", None, None, next_in=interval)
                raise
            problem = f"{outcome.chunks_failed} segment(s) failed" if outcome.chunks_failed else None
            await self._ended(source_id, "idle", problem, None, next_in=interval, success=True)
            return outcome

    async def _failed(self, source_id: str, error: DeviceError) -> None:
        async with self.database.transaction() as session:
            status = await SyncRepository(session).status(source_id)
            status.consecutive_failures += 1
            backoff = min(
                timedelta(seconds=status.interval_seconds * 2**status.consecutive_failures), MAX_BACKOFF
            )
            status.state, status.error, status.error_kind = "error", error.message[:1000], error.kind
            status.next_run_at = utcnow() + backoff if status.enabled else None

    async def _ended(
        self,
        source_id: str,
        state: str,
        error: str | None,
        kind: str | None,
        *,
        next_in: int | None = None,
        next_run: datetime | None = None,
        success: bool = False,
    ) -> None:
        async with self.database.transaction() as session:
            status = await SyncRepository(session).status(source_id)
            status.state, status.error, status.error_kind = state, error[:1000] if error else None, kind
            if success:
                status.last_success_at = utcnow()
                status.consecutive_failures = 0
            if not status.enabled:
                status.next_run_at = None
            elif next_in is not None:
                status.next_run_at = utcnow() + timedelta(seconds=next_in)
            else:
                status.next_run_at = next_run


def register_sync_job(registry: JobRegistry, coordinator: SyncCoordinator) -> None:
    registry.register(SYNC_JOB, "Sync one source's recordings into the archive", SyncParams)(coordinator.run)
