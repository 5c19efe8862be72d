"""In-process asyncio runner: the default on one small box, no broker needed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from vtrack.db.models import JobRun
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.jobs.execution import UNFINISHED, Execution, create_run, find_spec, set_state
from vtrack.jobs.registry import JobRegistry, schedule_key

log = logging.getLogger(__name__)


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
                .where(JobRun.status.in_(UNFINISHED))
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
            await set_state(
                self.database, list(runs), status="cancelled", finished_at=utcnow(), only_unfinished=True
            )
            for run_id in runs:
                self._tasks.pop(run_id, None)

    async def submit(self, name: str, params: dict[str, Any] | None = None, trigger: str = "manual") -> str:
        run = await create_run(self.database, find_spec(self.registry, name), params, trigger)
        self._tasks[run.id] = asyncio.create_task(self._execute(run.id, name, run.params), name=f"job:{name}")
        return run.id

    def schedule(self, name: str, every_seconds: float, params: dict[str, Any] | None = None) -> None:
        spec = self.registry.get(name)
        if spec is None:
            raise ValueError(f"unknown job {name!r}")
        spec.validate_params(params or {})
        if every_seconds <= 0:
            raise ValueError("every_seconds must be positive")
        schedule = _Schedule(name, every_seconds, params or {})
        self._schedules[schedule_key(name, params or {})] = schedule
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

    async def _execute(self, run_id: str, name: str, params: dict[str, Any]) -> None:
        spec = self.registry.specs[name]
        try:
            await Execution(self.database, spec, run_id, params, self.services).run()
        finally:
            self._tasks.pop(run_id, None)
