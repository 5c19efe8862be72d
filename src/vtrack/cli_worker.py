"""`vtrack worker` and `vtrack beat`: the processes of a scaled-out install (step 8).

`vtrack worker` is a small supervisor. It migrates the database if the server has not yet, resumes
runs whose worker died (job_runs leases), optionally runs live analytics channels (`--analytics`,
shared with other analytics workers by leases), and starts Celery's prefork worker as a child process
for the jobs. The child is tied to it (PR_SET_PDEATHSIG), so killing the worker kills its job processes
too, as losing the host would; SIGTERM/SIGINT stop both cleanly, each run flushed or handed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from typing import Annotated, Any

import typer

from vtrack.app import build_services
from vtrack.cli_common import DataDir, fail, settings_for
from vtrack.db.migrate import upgrade
from vtrack.events.relay import node_bridge
from vtrack.jobs.celery_runner import QUEUE, CeleryRunner
from vtrack.settings import Settings

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child before exec: the kernel SIGKILLs it when the process that started it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def celery_command(settings: Settings, concurrency: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "vtrack.jobs.celery_worker",
        "worker",
        "--queues",
        QUEUE,
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency),
        "--hostname",
        f"vtrack-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        settings.log_level,
    ]


async def _stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def run_worker(settings: Settings, *, analytics: bool, jobs: bool, concurrency: int) -> int:
    services = build_services(settings)
    await upgrade(services.database)
    runner = services.jobs if isinstance(services.jobs, CeleryRunner) else None
    bridge = node_bridge(settings, services.events)
    child: asyncio.subprocess.Process | None = None
    try:
        if runner is not None:
            await runner.start()  # resumes runs whose worker died
        if analytics:
            await services.analytics.start()
            if bridge is not None:
                await bridge.start()
        if jobs:
            env = {**os.environ, "VTRACK_DATA_DIR": str(settings.data_dir)}
            child = await asyncio.create_subprocess_exec(
                *celery_command(settings, concurrency), env=env, preexec_fn=die_with_parent
            )
        parts = [f"jobs ({concurrency} processes)" if jobs else "", "live analytics" if analytics else ""]
        log.info("vtrack worker %s running: %s", settings.node, ", ".join(p for p in parts if p))
        ended = asyncio.create_task(_stopped())
        waits: list[asyncio.Future[Any]] = [ended]
        if child is not None:
            waits.append(asyncio.ensure_future(child.wait()))
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if child is not None and child.returncode is not None:
            log.error("the job processes exited with status %s", child.returncode)
            return child.returncode or 1
        return 0
    finally:
        if child is not None and child.returncode is None:
            child.send_signal(signal.SIGTERM)  # Celery's warm shutdown: running jobs finish first
            await child.wait()
        await services.analytics.stop()
        if bridge is not None:
            await bridge.stop()
        if runner is not None:
            await runner.stop()
        await services.http.aclose()
        await services.blobs.close()
        await services.database.dispose()


def worker_command(
    analytics: Annotated[
        bool, typer.Option("--analytics", help="Also run live analytics channels (shared by leases)")
    ] = False,
    jobs: Annotated[bool, typer.Option("--jobs/--no-jobs", help="Run jobs from the broker")] = True,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=256, help="Job processes (default $VTRACK_WORKER_CONCURRENCY)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run jobs from the broker (VTRACK_BROKER_URL) and, with --analytics, live analytics channels."""
    settings = settings_for(data_dir, analytics_live=analytics)
    _logging(settings)
    if jobs and not settings.broker_url:
        raise fail("VTRACK_BROKER_URL is not set: jobs run inside `vtrack serve` without a broker")
    if not jobs and not analytics:
        raise fail("nothing to run: give --analytics, or leave --jobs on")
    code = asyncio.run(
        run_worker(
            settings, analytics=analytics, jobs=jobs, concurrency=concurrency or settings.worker_concurrency
        )
    )
    raise typer.Exit(code=code)


def beat_command(
    data_dir: DataDir = None,
) -> None:
    """Send the periodic jobs (health rounds, cleanups, retention) to the workers; run exactly one."""
    settings = settings_for(data_dir)
    _logging(settings)
    if not settings.broker_url:
        raise fail("VTRACK_BROKER_URL is not set: periodic jobs run inside `vtrack serve` without a broker")
    services = build_services(settings)
    runner = services.jobs
    if not isinstance(runner, CeleryRunner):  # pragma: no cover - build_services chose by broker_url
        raise fail("the job runner is not Celery")
    runner.celery.conf.beat_schedule = runner.beat_schedule()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        runner.celery.Beat(
            schedule=str(settings.data_dir / "celerybeat-schedule"), loglevel=settings.log_level
        ).run()
