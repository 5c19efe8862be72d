"""The embedded asyncio runner on SQLite and PostgreSQL: status, progress and results land in job_runs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Update, event, select
from sqlalchemy.orm import Mapper, ORMExecuteState, Session

from vtrack.db.models import JobRun
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.errors import InvalidInputError
from vtrack.jobs.embedded import EmbeddedRunner
from vtrack.jobs.registry import JobContext, JobRegistry, JobResult


@pytest.fixture
def registry() -> JobRegistry:
    return JobRegistry()


@pytest.fixture
async def runner(database: Database, registry: JobRegistry) -> AsyncIterator[EmbeddedRunner]:
    jobs = EmbeddedRunner(database, registry, services="the services")
    await jobs.start()
    yield jobs
    await jobs.stop()


async def read(database: Database, run_id: str) -> JobRun:
    async with database.session() as session:
        run = await session.get(JobRun, run_id)
    assert run is not None
    return run


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def status_is(database: Database, run_id: str, status: str) -> bool:
    return (await read(database, run_id)).status == status


@contextlib.contextmanager
def status_writes() -> Iterator[list[str]]:
    """Every status the code writes to job_runs, in order: the insert's, then each UPDATE's."""
    written: list[str] = []

    def inserted(_mapper: Mapper[Any], _connection: Any, target: JobRun) -> None:
        written.append(target.status)

    def executed(state: ORMExecuteState) -> None:
        if state.is_update and isinstance(state.statement, Update):
            params = state.statement.compile().params
            if "status" in params:
                written.append(str(params["status"]))

    event.listen(JobRun, "after_insert", inserted)
    event.listen(Session, "do_orm_execute", executed)
    try:
        yield written
    finally:
        event.remove(Session, "do_orm_execute", executed)
        event.remove(JobRun, "after_insert", inserted)


async def test_a_job_reports_progress_and_its_result_is_stored(
    runner: EmbeddedRunner, registry: JobRegistry, database: Database
) -> None:
    release = asyncio.Event()
    seen: dict[str, Any] = {}

    @registry.register("test.count", "counts to n")
    async def count(ctx: JobContext) -> JobResult:
        seen.update(run_id=ctx.run_id, services=ctx.services)
        await ctx.report(0.5, "half way")
        await release.wait()
        return {"counted": ctx.params["n"]}

    with status_writes() as written:
        run_id = await runner.submit("test.count", {"n": 3})

        async def half_way() -> bool:
            run = await read(database, run_id)
            return run.status == "running" and run.progress == 0.5

        await eventually(half_way)
        running = await read(database, run_id)
        assert running.message == "half way" and running.started_at is not None
        assert running.finished_at is None and running.result is None
        release.set()
        await runner.wait(run_id)
    assert written == ["queued", "running", "succeeded"]
    done = await read(database, run_id)
    assert done.status == "succeeded"
    assert done.progress == 1.0
    assert done.result == {"counted": 3}
    assert done.params == {"n": 3} and done.trigger == "manual" and done.error is None
    assert done.started_at is not None and done.finished_at is not None
    assert done.created_at <= done.started_at <= done.finished_at
    assert seen == {"run_id": run_id, "services": "the services"}


async def test_a_failing_job_is_marked_failed_with_its_error(
    runner: EmbeddedRunner, registry: JobRegistry, database: Database
) -> None:
    @registry.register("test.fail", "always fails")
    async def fail(ctx: JobContext) -> JobResult:
        await ctx.report(0.3, "trying")
        raise RuntimeError("disk on fire")

    run_id = await runner.submit("test.fail")
    await runner.wait(run_id)
    run = await read(database, run_id)
    assert run.status == "failed"
    assert run.error == "RuntimeError: disk on fire"
    assert run.result is None and run.progress == 0.3 and run.finished_at is not None


async def test_an_unknown_job_is_refused_and_nothing_is_recorded(
    runner: EmbeddedRunner, database: Database
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        await runner.submit("no.such.job")
    assert raised.value.details == [{"field": "name", "message": "known: none"}]
    async with database.session() as session:
        assert (await session.execute(select(JobRun))).first() is None


async def test_a_schedule_repeats_but_never_overlaps(database: Database, registry: JobRegistry) -> None:
    active = 0
    most_active = 0

    @registry.register("test.slow", "takes longer than its interval")
    async def slow(ctx: JobContext) -> JobResult:
        nonlocal active, most_active
        active += 1
        most_active = max(most_active, active)
        try:
            await asyncio.sleep(0.3)
        finally:
            active -= 1
        return {"ok": True}

    jobs = EmbeddedRunner(database, registry)
    jobs.schedule("test.slow", every_seconds=0.2, params={"x": 1})
    assert jobs.schedules() == [{"name": "test.slow", "everySeconds": 0.2, "lastRunId": None}]
    await jobs.start()
    try:

        async def three_succeeded() -> bool:
            async with database.session() as session:
                query = select(JobRun).where(JobRun.status == "succeeded")
                return len((await session.execute(query)).scalars().all()) >= 3

        await eventually(three_succeeded)
    finally:
        await jobs.stop()
    assert most_active == 1
    async with database.session() as session:
        runs = (await session.execute(select(JobRun).order_by(JobRun.created_at))).scalars().all()
    assert {r.trigger for r in runs} == {"schedule"} and all(r.params == {"x": 1} for r in runs)
    assert all(r.status in {"succeeded", "cancelled"} for r in runs), [(r.status, r.error) for r in runs]
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier.finished_at is not None and later.started_at is not None
        assert earlier.finished_at <= later.started_at  # one at a time, in the database's record too
    assert jobs.schedules()[0]["lastRunId"] == runs[-1].id


async def test_stop_cancels_a_running_job(
    runner: EmbeddedRunner, registry: JobRegistry, database: Database
) -> None:
    cancelled = asyncio.Event()

    @registry.register("test.forever", "waits forever")
    async def forever(ctx: JobContext) -> JobResult:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return None

    run_id = await runner.submit("test.forever")
    await eventually(lambda: status_is(database, run_id, "running"))
    await runner.stop()
    assert cancelled.is_set()
    run = await read(database, run_id)
    assert run.status == "cancelled" and run.finished_at is not None and run.error is None


async def test_start_fails_runs_a_dead_process_left_unfinished(
    database: Database, registry: JobRegistry
) -> None:
    before = utcnow() - timedelta(minutes=5)
    async with database.transaction() as session:
        left = [
            JobRun(name="old", status="running", started_at=before),
            JobRun(name="old", status="queued"),
            JobRun(name="old", status="succeeded", result={"n": 1}, started_at=before, finished_at=before),
        ]
        session.add_all(left)
    jobs = EmbeddedRunner(database, registry)
    await jobs.start()
    await jobs.stop()
    running, queued, succeeded = [await read(database, run.id) for run in left]
    for run in (running, queued):
        assert run.status == "failed"
        assert run.error is not None and "interrupted" in run.error
        assert run.finished_at is not None and run.finished_at > before
    assert succeeded.status == "succeeded" and succeeded.error is None and succeeded.finished_at == before
