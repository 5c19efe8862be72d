"""In-process asyncio runner: the default on one small box, no broker needed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from vtrack.db.models import JobRun
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.errors import InvalidInputError
from vtrack.jobs.registry import JobContext, JobRegistry

log = logging.getLogger(__name__)

_PROGRESS_INTERVAL = 0.25  # seconds between progress writes; the final state is always written
_UNFINISHED = ("queued", "running")


@dataclass
class _Schedule:
    name: str
    every_seconds: float
    params: dict[str, Any]
    task: asyncio.Task[None] | None = None
    last_run_id: str | None = None


class EmbeddedRunner:
    def __init__(self, database: Database, registry: JobRegistry, services: Any = None) -> None:
        self.database = database
        self.registry = registry
        self.services = services
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._schedules: dict[str, _Schedule] = {}
        self._running = False
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        # Runs that were queued or running when the last process died will never finish: say so.
        async with self.database.transaction() as session:
            await session.execute(
                update(JobRun)
                .where(JobRun.status.in_(_UNFINISHED))
                .values(status="failed", error="interrupted: the process stopped", finished_at=utcnow())
            )
        self._stopping = asyncio.Event()
        self._running = True
        for schedule in self._schedules.values():
            self._start_schedule(schedule)

    async def stop(self) -> None:
        self._running = False
        self._stopping.set()
        # Schedules are told, not cancelled: one cancelled inside submit() could leave a committed run
        # without the task that would ever run it. They finish what they are doing and return.
        schedules = [s.task for s in self._schedules.values() if s.task]
        await asyncio.gather(*schedules, return_exceptions=True)
        for schedule in self._schedules.values():
            schedule.task = None
        runs = dict(self._tasks)
        for task in runs.values():
            task.cancel()
        await asyncio.gather(*runs.values(), return_exceptions=True)
        if runs:
            # A task cancelled before its first step never runs at all: its row is still "queued".
            await self._set(list(runs), status="cancelled", finished_at=utcnow(), only_unfinished=True)
            for run_id in runs:
                self._tasks.pop(run_id, None)

    async def submit(self, name: str, params: dict[str, Any] | None = None, trigger: str = "manual") -> str:
        spec = self.registry.get(name)
        if spec is None:
            known = ", ".join(sorted(self.registry.specs)) or "none"
            raise InvalidInputError(
                f"unknown job {name!r}", [{"field": "name", "message": f"known: {known}"}]
            )
        checked = spec.validate_params(params or {})
        async with self.database.transaction() as session:
            run = JobRun(name=name, params=checked, trigger=trigger, status="queued")
            session.add(run)
        self._tasks[run.id] = asyncio.create_task(self._execute(run.id, name, checked), name=f"job:{name}")
        return run.id

    def schedule(self, name: str, every_seconds: float, params: dict[str, Any] | None = None) -> None:
        spec = self.registry.get(name)
        if spec is None:
            raise ValueError(f"unknown job {name!r}")
        spec.validate_params(params or {})
        if every_seconds <= 0:
            raise ValueError("every_seconds must be positive")
        schedule = _Schedule(name, every_seconds, params or {})
        self._schedules[name] = schedule
        if self._running:
            self._start_schedule(schedule)

    def schedules(self) -> list[dict[str, Any]]:
        return [
            {"name": s.name, "everySeconds": s.every_seconds, "lastRunId": s.last_run_id}
            for s in self._schedules.values()
        ]

    async def wait(self, run_id: str) -> None:
        """Wait for a run submitted by this process to end, however it ends (tests and the CLI use it)."""
        task = self._tasks.get(run_id)
        if task is not None:
            await asyncio.wait([task])

    def _start_schedule(self, schedule: _Schedule) -> None:
        schedule.task = asyncio.create_task(self._every(schedule), name=f"schedule:{schedule.name}")

    async def _every(self, schedule: _Schedule) -> None:
        stopping = self._stopping
        while not stopping.is_set():
            previous = self._tasks.get(schedule.last_run_id or "")
            if previous is None or previous.done():
                try:
                    schedule.last_run_id = await self.submit(
                        schedule.name, schedule.params, trigger="schedule"
                    )
                except Exception:  # a broken database must not end the schedule for good
                    log.exception("could not start scheduled job %s", schedule.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), schedule.every_seconds)

    async def _set(self, run_ids: str | list[str], only_unfinished: bool = False, **values: Any) -> None:
        """Write a run's state to completion even if the task is cancelled meanwhile; then re-raise that.

        A cancellation that cut a write short would leave a status the run never gets out of.
        """
        ids = [run_ids] if isinstance(run_ids, str) else run_ids
        statement = update(JobRun).where(JobRun.id.in_(ids)).values(**values)
        if only_unfinished:
            statement = statement.where(JobRun.status.in_(_UNFINISHED))

        async def write() -> None:
            async with self.database.transaction() as session:
                await session.execute(statement)

        task = asyncio.ensure_future(write())
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            await task
            raise

    async def _execute(self, run_id: str, name: str, params: dict[str, Any]) -> None:
        spec = self.registry.specs[name]
        last_write = 0.0

        async def report(
            fraction: float, message: str | None = None, details: dict[str, Any] | None = None
        ) -> None:
            nonlocal last_write
            now = time.monotonic()
            if now - last_write >= _PROGRESS_INTERVAL or fraction >= 1.0:
                last_write = now
                values: dict[str, Any] = {"progress": max(0.0, min(1.0, fraction)), "message": message}
                if details is not None:
                    values["result"] = details
                await self._set(run_id, **values)

        try:
            await self._set(run_id, status="running", started_at=utcnow())
            result = await spec.function(JobContext(run_id, params, report, self.services))
            await self._set(run_id, status="succeeded", progress=1.0, result=result, finished_at=utcnow())
        except asyncio.CancelledError:
            # Only if no final state was written: a cancel that lands while "succeeded" is being
            # written must not turn a finished run into a cancelled one.
            with contextlib.suppress(Exception):
                await self._set(run_id, status="cancelled", finished_at=utcnow(), only_unfinished=True)
            raise
        except Exception as exc:
            log.exception("job %s (%s) failed", name, run_id)
            detail = "".join(traceback.format_exception_only(exc)).strip()
            await self._set(run_id, status="failed", error=detail[:4000], finished_at=utcnow())
        finally:
            self._tasks.pop(run_id, None)
