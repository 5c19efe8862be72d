"""Real `vtrack worker` and `vtrack beat` processes on a real Redis and PostgreSQL, driven through the API.

The API app runs in this process with the same settings (so it submits to the broker instead of running
jobs itself); the jobs run in the worker's Celery processes, and what the API reads back must be what it
reads for the embedded runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select

from tests.conftest import ADMIN_PASSWORD, client_for, fresh_postgres_database, login
from tests.peers.redis_server import RedisServer, running_redis
from tests.test_cli import vtrack_command
from vtrack.app import create_app
from vtrack.db.models import JobRun
from vtrack.health.monitor import shard_of
from vtrack.jobs.celery_runner import CeleryRunner
from vtrack.jobs.embedded import EmbeddedRunner
from vtrack.services import Services
from vtrack.settings import Settings

pytestmark = pytest.mark.postgres

JOB_TIMEOUT = 60.0  # the first run waits for the worker's Celery processes to start
SHARDS = {"shard": 0, "shards": 2}
HEALTH_ONLY = ("durationSeconds", "changed")  # the time taken, and state changes since the last round


@dataclass
class Process:
    """A `vtrack` command in a process group of its own, output to a file."""

    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-6000:]
        except OSError:
            return "<no output>"

    def stop(self) -> None:
        """SIGTERM to the command for a clean stop, then SIGKILL whatever of its group is left."""
        if self.popen.poll() is None:
            self.popen.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)


def start(command: str, workdir: Path, env: dict[str, str], *args: str) -> Process:
    log = workdir / f"{command}.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VTRACK_")}
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [*vtrack_command(), command, *args],
            env={**clean, "NO_COLOR": "1", **env},
            cwd=workdir,  # no vtrack.toml of the checkout is picked up
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Process(popen, log)


@dataclass
class Stack:
    app: FastAPI
    services: Services
    admin: AsyncClient
    env: dict[str, str]
    workdir: Path
    worker: Process


@pytest.fixture(scope="module")
def broker() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture(scope="module")
async def stack(
    postgres_server: str, broker: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    workdir = tmp_path_factory.mktemp("celery-worker")
    database_url = await fresh_postgres_database(postgres_server)
    env = {
        "VTRACK_DATABASE_URL": database_url,
        "VTRACK_BROKER_URL": broker.url,
        "VTRACK_DATA_DIR": str(workdir / "data"),
        "VTRACK_SNAPSHOT_REFRESH_MINUTES": "0",
        "VTRACK_LOG_LEVEL": "WARNING",
    }
    settings = Settings(
        data_dir=workdir / "data",
        database_url=database_url,
        broker_url=broker.url,
        node_name="api",
        admin_password=ADMIN_PASSWORD,
        snapshot_refresh_minutes=0,
    )
    app = create_app(settings)  # its key file is the one the worker then reads: one data dir
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        assert isinstance(services.jobs, CeleryRunner)
        worker = start("worker", workdir, {**env, "VTRACK_NODE_NAME": "w1"}, "--concurrency", "2")
        try:
            async with client_for(app, await login(app, "admin", ADMIN_PASSWORD)) as admin:
                yield Stack(app, services, admin, env, workdir, worker)
        finally:
            worker.stop()
        services.jobs.celery.close()


async def finished(stack: Stack, run_id: str, within: float = JOB_TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        response = await stack.admin.get(f"/api/v1/jobs/{run_id}")
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()["data"]
        if run["status"] not in {"queued", "running"}:
            return run
        assert stack.worker.popen.poll() is None, f"the worker exited:\n{stack.worker.output()}"
        assert time.monotonic() < deadline, f"{run}\n{stack.worker.output()}"
        await asyncio.sleep(0.1)


async def submit(stack: Stack, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name} if params is None else {"name": name, "params": params}
    response = await stack.admin.post("/api/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    started: dict[str, Any] = response.json()["data"]
    return started


async def embedded_run(stack: Stack, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The same job run the step-7 way, in this process, on the same database, read through the same API."""
    runner = EmbeddedRunner(stack.services.database, stack.services.job_registry, stack.services)
    run_id = await runner.submit(name, params)
    await runner.wait(run_id)
    await runner.stop()
    response = await stack.admin.get(f"/api/v1/jobs/{run_id}")
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()["data"]
    return run


def comparable(run: dict[str, Any]) -> dict[str, Any]:
    """What must read the same wherever a run ran: all but ids, times, and who ran it how often."""
    skip = {"id", "createdAt", "startedAt", "finishedAt", "attempts", "worker"}
    left = {k: v for k, v in run.items() if k not in skip}
    if isinstance(left.get("result"), dict):
        left["result"] = {k: v for k, v in left["result"].items() if k not in HEALTH_ONLY}
    return left


async def test_runs_submitted_through_the_api_run_on_the_worker(stack: Stack) -> None:
    # Cameras nobody answers for (port 9, refused at once), with passwords kept encrypted: the worker
    # decrypts them with the key of the shared data dir.
    camera_ids = []
    for n in range(6):
        body = {"name": f"Cam {n}", "rtsp_url": f"rtsp://admin:pw-{n}@127.0.0.1:9/live", "fps": 25}
        created = await stack.admin.post("/api/v1/cameras", json=body)
        assert created.status_code == 201, created.text
        camera_ids.append(created.json()["data"]["id"])
    in_shard = sum(1 for camera_id in camera_ids if shard_of(camera_id, 2) == 0)
    expected_health = await embedded_run(stack, "health.check", SHARDS)
    expected_prune = await embedded_run(stack, "jobs.prune")

    prune = await submit(stack, "jobs.prune")
    health = await submit(stack, "health.check", SHARDS)
    assert prune["status"] == "queued" and prune["trigger"] == "manual" and prune["attempts"] == 0
    assert health["params"] == SHARDS

    prune_done, health_done = await finished(stack, prune["id"]), await finished(stack, health["id"])
    for done, expected in ((prune_done, expected_prune), (health_done, expected_health)):
        assert done["status"] == "succeeded", (done, stack.worker.output())
        assert comparable(done) == comparable(expected)
        assert done["progress"] == 1.0 and done["error"] is None
        assert done["attempts"] == 1 and done["worker"].startswith("w1:")
        assert done["createdAt"] <= done["startedAt"] <= done["finishedAt"]
    assert prune_done["result"] == {"deleted": 0}
    result = health_done["result"]
    assert result["checked"] == in_shard and result["failed"] == in_shard and result["ok"] == 0
    assert health_done["message"] == f"{in_shard} of {in_shard} cameras checked"
    # The worker process is one of the Celery children, not the supervisor nor this process.
    assert int(health_done["worker"].split(":")[1]) not in {os.getpid(), stack.worker.popen.pid}

    async with stack.services.database.session() as session:
        row = await session.get(JobRun, health["id"])
    assert row is not None and row.worker == health_done["worker"] and row.lease_expires_at is not None


async def test_beat_schedules_health_rounds_that_never_overlap(stack: Stack) -> None:
    beat_env = {**stack.env, "VTRACK_HEALTH_INTERVAL_SECONDS": "2", "VTRACK_HEALTH_SHARDS": "2"}
    beat = start("beat", stack.workdir, beat_env)
    shards = [{"shard": 0, "shards": 2}, {"shard": 1, "shards": 2}]
    query = select(JobRun).where(JobRun.name == "health.check", JobRun.trigger == "schedule")
    try:
        deadline = time.monotonic() + JOB_TIMEOUT
        while True:
            async with stack.services.database.session() as session:
                runs = (await session.scalars(query)).all()
            for params in shards:
                going = [r.id for r in runs if r.params == params and r.status in {"queued", "running"}]
                assert len(going) <= 1, f"two rounds of {params} at once: {going}"
            done = [sum(1 for r in runs if r.params == p and r.status == "succeeded") for p in shards]
            if min(done) >= 3:
                break
            assert beat.popen.poll() is None, f"beat exited:\n{beat.output()}"
            assert time.monotonic() < deadline, (
                f"{done} rounds so far\n{beat.output()}\n{stack.worker.output()}"
            )
            await asyncio.sleep(0.1)
    finally:
        beat.stop()

    async with stack.services.database.session() as session:
        runs = (await session.scalars(query.order_by(JobRun.created_at))).all()
    assert {tuple(sorted(r.params.items())) for r in runs} == {tuple(sorted(p.items())) for p in shards}
    for params in shards:
        rounds = [r for r in runs if r.params == params]
        assert all(r.worker is not None and r.worker.startswith("w1:") for r in rounds)
        for earlier, later in zip(rounds, rounds[1:], strict=False):
            assert earlier.finished_at is not None, "a round was still going when the next began"
            assert earlier.finished_at <= later.created_at, "two rounds of one shard overlapped"
