"""Running one job function and writing its state: shared by the embedded and the Celery runner.

Both runners go through `execute`, so a run reports progress, succeeds, fails, is cancelled or hits its
time limit in exactly the same way wherever it runs; they differ only in where the run comes from and
what happens to a failure worth retrying (the embedded runner has no retries; Celery sends it back to
the broker with backoff).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import update

from vtrack.db.models import JobRun
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.errors import InvalidInputError
from vtrack.jobs.registry import JobContext, JobRegistry, JobSpec

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25  # seconds between progress writes; the final state is always written
UNFINISHED = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")

Outcome = Literal["succeeded", "failed", "cancelled", "retry"]
# (error, attempt) -> seconds until the next attempt, or None: fail now
RetryDecision = Callable[[Exception, int], float | None]


class JobTimeLimitExceeded(Exception):
    """The run went past its soft time limit and was cancelled."""


def find_spec(registry: JobRegistry, name: str) -> JobSpec:
    spec = registry.get(name)
    if spec is None:
        known = ", ".join(sorted(registry.specs)) or "none"
        raise InvalidInputError(f"unknown job {name!r}", [{"field": "name", "message": f"known: {known}"}])
    return spec


async def create_run(
    database: Database, spec: JobSpec, params: dict[str, Any] | None, trigger: str
) -> JobRun:
    checked = spec.validate_params(params or {})
    async with database.transaction() as session:
        run = JobRun(name=spec.name, params=checked, trigger=trigger, status="queued")
        session.add(run)
    return run


async def set_state(
    database: Database,
    run_ids: str | list[str],
    *,
    only_unfinished: bool = False,
    held_by: str | None = None,
    **values: Any,
) -> int:
    """Write a run's state to completion even if the caller is cancelled meanwhile; then re-raise that.

    A cancellation that cut a write short would leave a status the run never gets out of. With `held_by`,
    only a run that worker still holds is written: one that lost its lease belongs to someone else now.
    """
    ids = [run_ids] if isinstance(run_ids, str) else run_ids
    statement = update(JobRun).where(JobRun.id.in_(ids)).values(**values)
    if only_unfinished:
        statement = statement.where(JobRun.status.in_(UNFINISHED))
    if held_by is not None:
        statement = statement.where(JobRun.worker == held_by)

    async def write() -> int:
        async with database.transaction() as session:
            return int((await session.execute(statement)).rowcount or 0)  # type: ignore[attr-defined]

    task = asyncio.ensure_future(write())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if task.cancelled():
            raise
        await task
        raise


@dataclass
class Execution:
    """One attempt at one run: `outcome` says how it ended, `retry_in` when a retry was chosen."""

    database: Database
    spec: JobSpec
    run_id: str
    params: dict[str, Any]
    services: Any
    worker: str | None = None
    soft_limit: float | None = None
    retry: RetryDecision | None = None
    attempt: int = 1
    max_attempts: int = 1
    # What a cancelled run is marked; None leaves the row alone (Celery: the lease lapses and recovery
    # hands the run to another worker, which is right when the cancel is this process shutting down).
    cancelled_status: str | None = "cancelled"
    requeue_grace: float = 0.0  # seconds past a retry's delay before recovery may send it again
    outcome: Outcome | None = None
    retry_in: float | None = None

    @property
    def ending(self) -> bool:
        """A final state is chosen (and maybe being written): a lost lease must not cancel that write."""
        return self.outcome is not None

    async def _set(self, only_unfinished: bool = False, **values: Any) -> int:
        return await set_state(
            self.database, self.run_id, only_unfinished=only_unfinished, held_by=self.worker, **values
        )

    async def run(self, *, mark_running: bool = True) -> Outcome:
        last_write = 0.0

        async def report(
            fraction: float, message: str | None = None, details: dict[str, Any] | None = None
        ) -> None:
            nonlocal last_write
            now = time.monotonic()
            if now - last_write >= PROGRESS_INTERVAL or fraction >= 1.0:
                last_write = now
                values: dict[str, Any] = {"progress": max(0.0, min(1.0, fraction)), "message": message}
                if details is not None:
                    values["result"] = details
                await self._set(**values)

        try:
            if mark_running:
                await self._set(status="running", started_at=utcnow())
            try:
                async with asyncio.timeout(self.soft_limit):
                    result = await self.spec.function(
                        JobContext(self.run_id, self.params, report, self.services)
                    )
            except TimeoutError as exc:
                raise JobTimeLimitExceeded(f"time limit of {self.soft_limit:g} s exceeded") from exc
            self.outcome = "succeeded"
            # error=None: a retried run that succeeded in the end no longer shows the earlier failure.
            await self._set(status="succeeded", progress=1.0, result=result, error=None, finished_at=utcnow())
        except asyncio.CancelledError:
            # Only if no final state was written: a cancel that lands while "succeeded" is being
            # written must not turn a finished run into a cancelled one.
            if self.cancelled_status is not None:
                with contextlib.suppress(Exception):
                    await self._set(status=self.cancelled_status, finished_at=utcnow(), only_unfinished=True)
            self.outcome = self.outcome or "cancelled"
            raise
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(exc)).strip()[:4000]
            delay = (
                self.retry(exc, self.attempt)
                if self.retry is not None and self.attempt < self.max_attempts
                else None
            )
            if delay is not None:
                log.warning(
                    "job %s (%s) attempt %d failed, retrying in %.0f s: %s",
                    self.spec.name,
                    self.run_id,
                    self.attempt,
                    delay,
                    detail,
                )
                message = f"attempt {self.attempt} of {self.max_attempts} failed; next in {delay:.0f} s"
                self.outcome, self.retry_in = "retry", delay
                # lease_expires_at of a queued run: when recovery may send it again if its message is lost.
                resend_at = utcnow() + timedelta(seconds=delay + self.requeue_grace)
                await self._set(
                    status="queued", error=detail, message=message, worker=None, lease_expires_at=resend_at
                )
            else:
                log.exception("job %s (%s) failed", self.spec.name, self.run_id)
                self.outcome = "failed"
                await self._set(status="failed", error=detail, finished_at=utcnow())
        return self.outcome
