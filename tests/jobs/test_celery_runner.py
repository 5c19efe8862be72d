"""The Celery runner used directly, on a real PostgreSQL and a real Redis broker (no worker process).

What is checked is what the design rests on: the job_runs row is the truth and every hand-over is a
conditional UPDATE of it (submit, claim, heartbeat, retry, recovery, scheduled ticks), while the broker
only carries wake-up messages, read here straight from Redis' "vtrack" list.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select, text, update

from tests.conftest import fresh_postgres_database
from tests.jobs.test_embedded import status_writes
from tests.peers.redis_server import RedisServer, running_redis
from vtrack.db.migrate import upgrade
from vtrack.db.models import JobRun
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.errors import InvalidInputError, ServiceUnavailableError
from vtrack.jobs.celery_app import make_celery
from vtrack.jobs.celery_runner import QUEUE, TASK_RUN, TASK_SCHEDULED, CeleryRunner, transient
from vtrack.jobs.execution import JobTimeLimitExceeded
from vtrack.jobs.registry import JobContext, JobRegistry, JobResult
from vtrack.settings import Settings

pytestmark = pytest.mark.postgres

LEASE = 3.0  # the shortest lease Settings allows: the heartbeat then runs every second


# -- peers and the runner ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broker() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture
def queue(broker: RedisServer) -> Iterator[Messages]:
    client = redis.Redis.from_url(broker.url)
    client.flushdb()
    yield Messages(client)
    client.close()


@pytest.fixture
async def database_url(postgres_server: str) -> str:
    url = await fresh_postgres_database(postgres_server)
    database = Database(url)
    await upgrade(database)
    await database.dispose()
    return url


@dataclass
class Messages:
    """The broker's queue as Redis holds it: one JSON envelope per message, newest first."""

    client: redis.Redis

    def all(self) -> list[dict[str, Any]]:
        found = []
        for raw in reversed(self.client.lrange(QUEUE, 0, -1)):
            envelope = json.loads(raw)
            args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
            found.append({**envelope["headers"], "args": args})
        return found

    def ids(self) -> list[str]:
        return [m["id"] for m in self.all()]


@dataclass
class Jobs:
    """The test jobs and what they saw; each runner built by `make_runner` gets all of them."""

    registry: JobRegistry = field(default_factory=JobRegistry)
    calls: dict[str, int] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    killer: Database | None = None

    def __post_init__(self) -> None:
        register = self.registry.register

        def count(ctx: JobContext) -> int:
            self.calls[ctx.run_id] = self.calls.get(ctx.run_id, 0) + 1
            return self.calls[ctx.run_id]

        @register("test.flaky", "fails with OSError `fail` times, then succeeds")
        async def flaky(ctx: JobContext) -> JobResult:
            call = count(ctx)
            if call <= ctx.params["fail"]:
                raise OSError(f"network down (call {call})")
            return {"calls": call}

        @register("test.slow", "reports progress until released, cancelled or out of time")
        async def slow(ctx: JobContext) -> JobResult:
            count(ctx)
            try:
                step = 0
                while not self.release.is_set():
                    step += 1
                    await ctx.report(min(0.9, step / 100), f"step {step}")
                    await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                self.cancelled.add(ctx.run_id)
                raise
            return {"steps": step}

        @register("test.fail", "a bug: never worth a retry")
        async def fail(ctx: JobContext) -> JobResult:
            count(ctx)
            raise ValueError(f"bad value {ctx.params.get('n')}")

        @register("test.progress", "reports half way with details, then finishes")
        async def progress(ctx: JobContext) -> JobResult:
            count(ctx)
            await ctx.report(0.5, "half way", {"bytes": 10})
            await self.release.wait()
            return {"n": ctx.params.get("n")}

        @register("test.db_drop", "loses its database connection on the first call")
        async def db_drop(ctx: JobContext) -> JobResult:
            call = count(ctx)
            database: Database = ctx.services.database
            async with database.session() as session:
                if call == 1:
                    assert self.killer is not None
                    pid = await session.scalar(text("SELECT pg_backend_pid()"))
                    async with self.killer.session() as other:
                        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                await session.execute(text("SELECT 1"))
            return {"calls": call}


@dataclass
class Services:
    database: Database


MakeRunner = Callable[..., CeleryRunner]


@pytest.fixture
def jobs() -> Jobs:
    return Jobs()


@pytest.fixture
async def make_runner(
    database_url: str, broker: RedisServer, queue: Messages, jobs: Jobs, tmp_path: Path
) -> AsyncIterator[MakeRunner]:
    """Runners as separate nodes: each has its own settings, database pool and Celery app."""
    made: list[CeleryRunner] = []

    def make(node_name: str = "n1", broker_url: str | None = None, **overrides: Any) -> CeleryRunner:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "broker_url": broker_url or broker.url,
            "node_name": node_name,
            "job_lease_seconds": LEASE,
            "job_retry_seconds": 1,
            "snapshot_refresh_minutes": 0,
            **overrides,
        }
        settings = Settings(**values)
        database = Database(database_url)
        runner = CeleryRunner(database, jobs.registry, settings, make_celery(settings))
        runner.services = Services(database)
        made.append(runner)
        return runner

    jobs.killer = Database(database_url)
    yield make
    for runner in made:
        await runner.stop()
        runner.celery.close()
        await runner.database.dispose()
    await jobs.killer.dispose()


@pytest.fixture
def runner(make_runner: MakeRunner) -> CeleryRunner:
    return make_runner()


async def read(database: Database, run_id: str) -> JobRun:
    async with database.session() as session:
        run = await session.get(JobRun, run_id)
    assert run is not None
    return run


def columns(run: JobRun) -> dict[str, Any]:
    return {c.key: getattr(run, c.key) for c in JobRun.__table__.columns}


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def add_runs(database: Database, *runs: JobRun) -> list[str]:
    async with database.transaction() as session:
        session.add_all(runs)
    return [run.id for run in runs]


async def set_row(database: Database, run_id: str, **values: Any) -> None:
    async with database.transaction() as session:
        await session.execute(update(JobRun).where(JobRun.id == run_id).values(**values))


# -- submit and claim -------------------------------------------------------------------------------


async def test_submit_writes_a_queued_row_and_one_message_named_by_the_run(
    runner: CeleryRunner, queue: Messages, jobs: Jobs
) -> None:
    with status_writes() as written:
        run_id = await runner.submit("test.progress", {"n": 3})
    assert written == ["queued"]
    run = await read(runner.database, run_id)
    assert run.status == "queued" and run.trigger == "manual" and run.params == {"n": 3}
    assert run.attempts == 0 and run.worker is None and run.lease_expires_at is None
    assert run.started_at is None and run.finished_at is None
    [message] = queue.all()
    assert message["id"] == run_id and message["task"] == TASK_RUN and message["args"] == [run_id]
    assert message["eta"] is None
    assert message["timelimit"][0] == int(runner.hard_limit()) == 6 * 3600 + 120

    # An unknown job or bad parameters: refused, nothing recorded, nothing sent.
    with pytest.raises(InvalidInputError):
        await runner.submit("no.such.job")
    async with runner.database.session() as session:
        assert (await session.scalars(select(JobRun.id))).all() == [run_id]
    assert queue.ids() == [run_id]

    # The worker side of the same run: status and progress land in the row as with the embedded runner.
    with status_writes() as written:
        executing = asyncio.create_task(runner.execute(run_id))

        async def half_way() -> bool:
            return (await read(runner.database, run_id)).progress == 0.5

        await eventually(half_way)
        running = await read(runner.database, run_id)
        assert running.status == "running" and running.message == "half way"
        assert running.result == {"bytes": 10} and running.started_at is not None
        assert running.worker == runner.node and runner.node.startswith("n1:")
        assert running.lease_expires_at is not None and running.lease_expires_at > utcnow()
        jobs.release.set()
        execution = await executing
    assert execution is not None and execution.outcome == "succeeded" and execution.retry_in is None
    assert written == ["running", "succeeded"]
    done = await read(runner.database, run_id)
    assert done.status == "succeeded" and done.progress == 1.0 and done.result == {"n": 3}
    assert done.error is None and done.attempts == 1 and done.finished_at is not None
    assert done.created_at <= done.started_at <= done.finished_at  # type: ignore[operator]
    await runner.wait(run_id)  # returns at once for a finished run
    assert queue.ids() == [run_id]  # running a run sends nothing


async def test_claim_is_atomic_and_a_finished_run_is_never_run_again(
    make_runner: MakeRunner, jobs: Jobs
) -> None:
    first, second = make_runner("n1"), make_runner("n2")
    run_id = await first.submit("test.flaky", {"fail": 0})
    claimed = await first.claim(run_id)
    assert claimed is not None and claimed.status == "running" and claimed.attempts == 1
    assert claimed.worker == first.node and claimed.lease_expires_at is not None
    assert claimed.lease_expires_at - utcnow() > timedelta(seconds=LEASE - 1)
    # Held with a live lease: neither this worker again (a redelivery) nor another takes it.
    assert await first.claim(run_id) is None
    assert await second.claim(run_id) is None
    assert await second.execute(run_id) is None
    assert jobs.calls == {}

    # Its lease lapsed (the worker died): another worker may take it, counting the attempt.
    await set_row(first.database, run_id, lease_expires_at=utcnow() - timedelta(seconds=1))
    execution = await second.execute(run_id)
    assert execution is not None and execution.outcome == "succeeded"
    done = await read(first.database, run_id)
    assert done.status == "succeeded" and done.worker == second.node and done.attempts == 2

    # A finished run: a late duplicate delivery does nothing at all (its claim matches no row).
    assert await first.execute(run_id) is None
    assert await second.claim(run_id) is None
    assert columns(await read(first.database, run_id)) == columns(done)
    assert jobs.calls == {run_id: 1}


async def test_concurrent_claims_from_two_nodes_have_exactly_one_winner(make_runner: MakeRunner) -> None:
    first, second = make_runner("n1"), make_runner("n2")
    ids = [await first.submit("test.flaky", {"fail": 0}) for _ in range(12)]
    for run_id in ids:
        won = await asyncio.gather(first.claim(run_id), second.claim(run_id))
        winners = [run for run in won if run is not None]
        assert len(winners) == 1, run_id
        assert (await read(first.database, run_id)).worker == winners[0].worker
    # The same with lapsed leases (a recovery race): still one winner, one more attempt.
    for run_id in ids:
        await set_row(first.database, run_id, lease_expires_at=utcnow() - timedelta(seconds=1))
        won = await asyncio.gather(first.claim(run_id), second.claim(run_id))
        assert len([run for run in won if run is not None]) == 1
        assert (await read(first.database, run_id)).attempts == 2


# -- retries and limits -----------------------------------------------------------------------------


async def test_a_transient_error_is_retried_with_growing_backoff(runner: CeleryRunner, jobs: Jobs) -> None:
    run_id = await runner.submit("test.flaky", {"fail": 2})
    delays = []
    for attempt in (1, 2):
        execution = await runner.execute(run_id)
        assert execution is not None and execution.outcome == "retry" and execution.retry_in is not None
        delays.append(execution.retry_in)
        run = await read(runner.database, run_id)
        assert run.status == "queued" and run.attempts == attempt
        assert run.worker is None and run.finished_at is None
        # Its message is Celery's delayed retry; recovery would send it again only well after that.
        resend_in = (run.lease_expires_at - utcnow()).total_seconds()
        assert (
            execution.retry_in + runner.requeue_grace - 5
            < resend_in
            <= execution.retry_in + runner.requeue_grace
        )
        assert run.error == f"OSError: network down (call {attempt})"
        assert run.message == f"attempt {attempt} of 4 failed; next in {execution.retry_in:.0f} s"
    # job_retry_seconds=1, doubling, ±20 %: the second wait is always longer than the first.
    assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4
    execution = await runner.execute(run_id)
    assert execution is not None and execution.outcome == "succeeded"
    done = await read(runner.database, run_id)
    assert done.status == "succeeded" and done.attempts == 3 and done.result == {"calls": 3}
    # A run that succeeded in the end reads as succeeded, not with the failure of an earlier attempt.
    assert done.error is None and done.message is None
    assert jobs.calls == {run_id: 3}

    # The backoff itself: doubling per attempt within its jitter, capped; only transient errors.
    for attempt in range(1, 6):
        delay = runner.retry_delay(OSError("x"), attempt)
        assert delay is not None and 0.8 * 2 ** (attempt - 1) <= delay <= 1.2 * 2 ** (attempt - 1)
    assert runner.retry_delay(OSError("x"), 30) == 600.0
    assert runner.retry_delay(ValueError("x"), 1) is None
    assert runner.retry_delay(JobTimeLimitExceeded("x"), 1) is None


async def test_a_lost_database_connection_is_transient(runner: CeleryRunner, jobs: Jobs) -> None:
    run_id = await runner.submit("test.db_drop")
    execution = await runner.execute(run_id)
    assert execution is not None and execution.outcome == "retry", (await read(runner.database, run_id)).error
    run = await read(runner.database, run_id)
    assert run.status == "queued" and run.error is not None and run.attempts == 1
    execution = await runner.execute(run_id)
    assert execution is not None and execution.outcome == "succeeded"
    # A database error of the job's own making (bad SQL) is a bug, not worth a retry.
    async with runner.database.session() as session:
        with pytest.raises(Exception) as raised:
            await session.execute(text("SELECT no_such_column"))
    assert not transient(raised.value)


async def test_a_job_error_fails_at_once(runner: CeleryRunner, jobs: Jobs) -> None:
    run_id = await runner.submit("test.fail", {"n": 7})
    execution = await runner.execute(run_id)
    assert execution is not None and execution.outcome == "failed" and execution.retry_in is None
    run = await read(runner.database, run_id)
    assert run.status == "failed" and run.error == "ValueError: bad value 7" and run.attempts == 1
    assert run.finished_at is not None and run.result is None
    assert await runner.execute(run_id) is None
    assert jobs.calls == {run_id: 1}


async def test_transient_errors_fail_the_run_after_max_attempts(
    make_runner: MakeRunner, jobs: Jobs, queue: Messages
) -> None:
    runner = make_runner(job_max_attempts=2)
    run_id = await runner.submit("test.flaky", {"fail": 5})
    first = await runner.execute(run_id)
    assert first is not None and first.outcome == "retry"
    last = await runner.execute(run_id)
    assert last is not None and last.outcome == "failed" and last.retry_in is None
    run = await read(runner.database, run_id)
    assert run.status == "failed" and run.attempts == 2 and run.finished_at is not None
    assert run.error == "OSError: network down (call 2)"
    assert await runner.execute(run_id) is None
    assert jobs.calls == {run_id: 2}
    assert queue.ids() == [run_id]  # retries are the Celery task's to send, not execute's


async def test_the_soft_time_limit_fails_the_run(make_runner: MakeRunner, jobs: Jobs) -> None:
    runner = make_runner(job_time_limit_seconds=0.5)
    run_id = await runner.submit("test.slow")
    started = time.monotonic()
    execution = await runner.execute(run_id)
    assert time.monotonic() - started < 5
    assert execution is not None and execution.outcome == "failed" and execution.retry_in is None
    run = await read(runner.database, run_id)
    assert run.status == "failed" and run.error is not None and "time limit" in run.error
    assert "time limit of 0.5 s exceeded" in run.error and run.attempts == 1
    assert run_id in jobs.cancelled  # the job function itself was stopped


# -- heartbeat and takeover -------------------------------------------------------------------------


async def test_the_heartbeat_renews_the_lease_and_a_taken_run_stops_writing(
    runner: CeleryRunner, jobs: Jobs
) -> None:
    run_id = await runner.submit("test.slow")
    executing = asyncio.create_task(runner.execute(run_id))
    await eventually(lambda: _status_is(runner.database, run_id, "running"))
    first = (await read(runner.database, run_id)).lease_expires_at
    assert first is not None

    async def renewed() -> bool:
        lease = (await read(runner.database, run_id)).lease_expires_at
        return lease is not None and lease > first

    await eventually(renewed, within=LEASE)  # every lease/3 s
    # Past the first lease's end the run is still held: the heartbeat kept it.
    await asyncio.sleep(max(0.0, (first - utcnow()).total_seconds()) + 0.2)
    held = await read(runner.database, run_id)
    assert held.status == "running" and held.worker == runner.node and held.lease_expires_at > utcnow()  # type: ignore[operator]

    # Another worker takes it over (as recovery would after a partition): this copy stops within a beat.
    taken_until = utcnow() + timedelta(seconds=60)
    await set_row(
        runner.database, run_id, worker="other:1", lease_expires_at=taken_until, message="taken", progress=0.0
    )
    taken = columns(await read(runner.database, run_id))
    execution = await asyncio.wait_for(executing, LEASE)
    assert execution is not None and execution.outcome == "cancelled"
    assert run_id in jobs.cancelled
    await asyncio.sleep(LEASE / 3 + 0.3)  # a heartbeat's worth: nothing more comes from the old copy
    assert columns(await read(runner.database, run_id)) == taken
    assert taken["status"] == "running" and taken["lease_expires_at"] == taken_until


async def _status_is(database: Database, run_id: str, status: str) -> bool:
    return (await read(database, run_id)).status == status


# -- recovery ---------------------------------------------------------------------------------------


async def test_recover_requeues_lapsed_runs_and_gives_up_on_spent_ones(
    runner: CeleryRunner, queue: Messages, jobs: Jobs
) -> None:
    now = utcnow()
    lapsed = now - timedelta(seconds=1)
    hard = timedelta(seconds=runner.hard_limit())
    flaky = {"fail": 0}
    resumable, spent, too_long, alive, waiting, finished = await add_runs(
        runner.database,
        JobRun(name="test.flaky", params=flaky, status="running", attempts=1, worker="dead:1",
               started_at=now - timedelta(seconds=10), lease_expires_at=lapsed),
        JobRun(name="test.flaky", params=flaky, status="running", attempts=4, worker="dead:2",
               started_at=now - timedelta(seconds=10), lease_expires_at=lapsed),
        JobRun(name="test.flaky", params=flaky, status="running", attempts=1, worker="dead:3",
               started_at=now - hard - timedelta(seconds=5), lease_expires_at=lapsed),
        JobRun(name="test.flaky", params=flaky, status="running", attempts=1, worker="alive:1",
               started_at=now, lease_expires_at=now + timedelta(seconds=30)),
        JobRun(name="test.flaky", params=flaky, status="queued", created_at=now),
        JobRun(name="test.flaky", params=flaky, status="succeeded", attempts=1, worker="dead:4",
               started_at=now, finished_at=now, lease_expires_at=lapsed),
    )  # fmt: skip
    before = {run_id: columns(await read(runner.database, run_id)) for run_id in (alive, waiting, finished)}
    assert await runner.recover() == [resumable]

    run = await read(runner.database, resumable)
    assert run.status == "queued" and run.worker is None and run.lease_expires_at > utcnow()
    assert run.message == "worker dead:1 stopped; resuming on another worker" and run.finished_at is None
    [message] = queue.all()
    assert message["id"] == resumable and message["args"] == [resumable] and message["task"] == TASK_RUN

    run = await read(runner.database, spent)
    assert run.status == "failed" and run.finished_at is not None
    assert run.error == "its worker (dead:2) stopped, 4 attempt(s); giving up"
    run = await read(runner.database, too_long)
    assert run.status == "failed" and run.error is not None and "hard time limit" in run.error
    for run_id, row in before.items():
        assert columns(await read(runner.database, run_id)) == row

    # Nothing more to do on a second round; the re-sent run resumes on the next worker, attempt 2.
    assert await runner.recover() == []
    execution = await runner.execute(resumable)
    assert execution is not None and execution.outcome == "succeeded"
    assert (await read(runner.database, resumable)).attempts == 2
    assert queue.ids() == [resumable]


async def test_concurrent_recoveries_resend_each_run_once(make_runner: MakeRunner, queue: Messages) -> None:
    first, second = make_runner("n1"), make_runner("n2")
    lapsed = utcnow() - timedelta(seconds=1)
    ids = await add_runs(
        first.database,
        *[
            JobRun(name="test.flaky", params={"fail": 0}, status="running", attempts=1, worker=f"dead:{i}",
                   started_at=utcnow(), lease_expires_at=lapsed)
            for i in range(8)
        ],
    )  # fmt: skip
    one, two = await asyncio.gather(first.recover(), second.recover())
    assert sorted(one + two) == sorted(ids) and not set(one) & set(two)
    assert sorted(queue.ids()) == sorted(ids)  # each exactly once


async def test_the_recovery_loop_runs_every_third_of_the_lease(runner: CeleryRunner, queue: Messages) -> None:
    await runner.start()
    [run_id] = await add_runs(
        runner.database,
        JobRun(name="test.flaky", params={"fail": 0}, status="running", attempts=1, worker="dead:1",
               started_at=utcnow(), lease_expires_at=utcnow() - timedelta(seconds=1)),
    )  # fmt: skip
    await eventually(lambda: _status_is(runner.database, run_id, "queued"), within=LEASE)
    assert queue.ids() == [run_id]
    started = time.monotonic()
    await runner.stop()
    assert time.monotonic() - started < 1


# -- schedules --------------------------------------------------------------------------------------


async def test_a_scheduled_tick_runs_unless_the_same_run_is_going(
    runner: CeleryRunner, jobs: Jobs, queue: Messages
) -> None:
    params = {"fail": 0}
    now = utcnow()
    queued, running = await add_runs(
        runner.database,
        JobRun(name="test.flaky", params=params, status="queued"),
        JobRun(name="test.flaky", params=params, status="running", worker="w:1", attempts=1,
               started_at=now, lease_expires_at=now + timedelta(seconds=30)),
    )  # fmt: skip
    assert await runner.run_scheduled("test.flaky", params) is None  # queued and running ones
    await set_row(runner.database, queued, status="succeeded", finished_at=now)
    assert await runner.run_scheduled("test.flaky", params) is None  # a running one with a live lease
    assert jobs.calls == {}

    # Other parameters are another schedule (health shards).
    other = await runner.run_scheduled("test.flaky", {"fail": 0, "shard": 1})
    assert other is not None and (await read(runner.database, other)).status == "succeeded"

    # A running one whose worker died does not hold the schedule back.
    await set_row(runner.database, running, lease_expires_at=now - timedelta(seconds=1))
    run_id = await runner.run_scheduled("test.flaky", params)
    assert run_id is not None
    run = await read(runner.database, run_id)
    assert run.status == "succeeded" and run.trigger == "schedule" and run.params == params
    assert run.worker == runner.node and run.attempts == 1 and run.result == {"calls": 1}
    # Nothing was sent: the tick runs where beat's message landed.
    assert queue.ids() == []
    # A tick whose run hit a transient error sends the retry itself, delayed by the backoff.
    again = await runner.run_scheduled("test.flaky", {"fail": 1})
    assert again is not None
    [message] = queue.all()
    assert message["id"] == again and message["args"] == [again] and message["eta"] is not None
    assert (await read(runner.database, again)).status == "queued"


async def test_concurrent_ticks_of_one_schedule_start_one_run(make_runner: MakeRunner, jobs: Jobs) -> None:
    """Ticks pile up in the queue while workers are busy; two workers may then take two at once."""
    first, second = make_runner("n1"), make_runner("n2")
    for _ in range(5):
        jobs.release.clear()
        ticks = asyncio.gather(first.run_scheduled("test.slow", {}), second.run_scheduled("test.slow", {}))
        await asyncio.sleep(0.5)
        jobs.release.set()
        started = [run_id for run_id in await ticks if run_id is not None]
        assert len(started) == 1, f"{len(started)} runs of one schedule at once"
    async with first.database.session() as session:
        runs = (await session.scalars(select(JobRun).where(JobRun.name == "test.slow"))).all()
    assert len(runs) == 5 and {r.status for r in runs} == {"succeeded"}


async def test_beat_entries_follow_the_schedules(runner: CeleryRunner) -> None:
    runner.schedule("test.flaky", 60, {"fail": 0})
    runner.schedule("test.flaky", 30, {"fail": 1})
    runner.schedule("test.fail", 5)
    with pytest.raises(InvalidInputError):
        runner.schedule("no.such.job", 5)
    assert runner.beat_schedule() == {
        'test.flaky {"fail": 0}': {
            "task": TASK_SCHEDULED,
            "schedule": 60,
            "args": ("test.flaky", {"fail": 0}),
        },
        'test.flaky {"fail": 1}': {
            "task": TASK_SCHEDULED,
            "schedule": 30,
            "args": ("test.flaky", {"fail": 1}),
        },
        "test.fail": {"task": TASK_SCHEDULED, "schedule": 5, "args": ("test.fail", {})},
    }


# -- the broker down --------------------------------------------------------------------------------


async def test_submit_with_the_broker_down_fails_fast_and_marks_the_run(make_runner: MakeRunner) -> None:
    with running_redis() as own:
        runner = make_runner(broker_url=own.url)
        own.stop()
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError):
            await runner.submit("test.flaky", {"fail": 0})
        assert time.monotonic() - started < 5
        async with runner.database.session() as session:
            [run] = (await session.scalars(select(JobRun))).all()
        assert run.status == "failed" and run.finished_at is not None
        assert run.error is not None and run.error.startswith("not queued")

        # The broker back on the same address: the next submit goes through.
        own.start()
        run_id = await runner.submit("test.flaky", {"fail": 0})
        assert (await read(runner.database, run_id)).status == "queued"
        client = redis.Redis.from_url(own.url)
        try:
            assert len(client.lrange(QUEUE, 0, -1)) == 1
        finally:
            client.close()


async def test_a_queued_run_whose_message_was_lost_is_sent_again_after_the_grace(
    runner: CeleryRunner, queue: Messages, jobs: Jobs
) -> None:
    """A producer that died between its insert and its send, a worker killed holding a delayed retry, or
    a run left queued by the embedded runner: the claim makes a second message harmless, so send one."""
    now = utcnow()
    grace = timedelta(seconds=runner.requeue_grace)
    flaky = {"fail": 0}
    second = timedelta(seconds=1)
    old_insert, retry_due, fresh, retry_waiting = await add_runs(
        runner.database,
        JobRun(name="test.flaky", params=flaky, status="queued", created_at=now - grace - second),
        JobRun(name="test.flaky", params=flaky, status="queued", lease_expires_at=now - second),
        JobRun(name="test.flaky", params=flaky, status="queued", created_at=now),
        JobRun(name="test.flaky", params=flaky, status="queued", lease_expires_at=now + 60 * second),
    )  # fmt: skip
    assert sorted(await runner.recover()) == sorted([old_insert, retry_due])
    assert sorted(m["id"] for m in queue.all()) == sorted([old_insert, retry_due])
    for run_id in (old_insert, retry_due):  # not again until another grace has passed
        assert (await read(runner.database, run_id)).lease_expires_at > now + grace - timedelta(seconds=5)
    assert await runner.recover() == []
    execution = await runner.execute(old_insert)
    assert execution is not None and execution.outcome == "succeeded"
    assert await runner.execute(old_insert) is None  # the original message, if it turns up after all
    for run_id in (fresh, retry_waiting):
        assert (await read(runner.database, run_id)).status == "queued"
