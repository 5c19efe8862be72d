"""Scale-out benchmark: a health round over 5,000 simulated cameras and a sync of 8 cameras, run by 1 and
then by 2 `vtrack worker` processes; reports the speed-up ratio (1-worker wall time / 2-worker wall time).

Everything is real and on loopback: a PostgreSQL server and a Redis broker (the test suite's throwaway
peers, tests/peers/), `vtrack worker --concurrency P` processes (Celery prefork, P job processes each,
named bench-w1, bench-w2 by VTRACK_NODE_NAME), and this process in the role of `vtrack serve`: the app
built from the same Settings, its job runner a CeleryRunner that sends runs to the workers through Redis.
Each configuration (1 worker, then 2) gets a fresh database, a fresh data directory (so a fresh archive)
and its own Redis database; this process and the workers share one VTRACK_SECRET_KEY, so the workers can
decrypt the camera passwords sealed here.

Health: the simulator child of bench/health.py (`health.py --serve`; `--simulators` of them, the hosts
split between them) serves `--cameras` cameras over `--hosts` loopback hosts 127.0.0.2, 127.0.0.3, ...:
320x240 H.264 at 15 fps, one pre-encoded clip looped in real time. The cameras are inserted into the
database as bench/health.py does. A round is `--shards` `health.check` jobs, params {shard, shards}, all
submitted at once; its wall time runs from the first submit until every job is finished. Each job checks
its shard like the scheduled round does (real RTSP probe: DESCRIBE with Digest auth, SETUP, PLAY, 0.5 s
of frames, first keyframe decoded), `--concurrency` checks at a time in each job process. With 1 worker
only P shards run at once, the rest wait in the queue; with 2 workers 2 x P. Two rounds per
configuration: the first (every camera new: idle -> online, one event each) and the steady state. Check:
the shards' "checked" add up to --cameras. The round's floor, from the sample time alone: waves of
shards (ceil(shards / (workers x P))) x cameras a shard / --concurrency x 0.5 s.

Sync: 4 simulated NVRs with 2 cameras each (tests/peers/simulator_process.py, one child process each),
saved as 4 sources through the real API (in-process, ASGI), with a sync lookback of 36 s; the automatic
sync that saving starts is waited out first. Then POST /api/v1/download-nvr-videos for each source, the
same past `--sync-hours` window (default 1 h: 2 cameras x 6 ten-minute segments a source, 48 in all),
timed until all 4 jobs are finished. Check: every job done, segmentsDone == segmentsTotal == expected, 0
failed.

CPU seconds per phase, from /proc: for each process tree (the workers' supervisors with their Celery
parents and job processes; the simulator children; the PostgreSQL postmaster and its backends; Redis),
utime + stime of every live process plus cutime + cstime, which hold the CPU of children that exited and
were reaped inside the tree (a job process Celery replaced, a backend that closed), taken before and after
the phase. This process: getrusage(RUSAGE_SELF). "cores" is all of it over the wall time; "machine" is
the share of all the machine's cores busy meanwhile (/proc/stat), other processes on it included: the
interpretation line reads the ratio against it (a machine already saturated with 1 worker cannot show
what a second host would add).

The data directory (the archive, some 700 MB) is removed after each configuration; the workers' logs
stay in the temp directory printed.

    .venv/bin/python bench/scale.py [--cameras 5000] [--hosts 20] [--shards 4] [--processes 2]
                                    [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib.util
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The peers of the test suite (tests/peers): PostgreSQL, Redis and the NVR simulator child, which imports
# tests.simulator from its own sys.path, hence PYTHONPATH too.
sys.path.insert(1, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)

ADMIN_PASSWORD = "bench-admin-pass"  # noqa: S105  (a throwaway database's admin)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
NVRS, NVR_CAMERAS = 4, 2
SEGMENT_MINUTES = 10


def load_health_bench() -> ModuleType:
    """bench/health.py, for its simulator child (Child: `health.py --serve`) and its camera settings."""
    path = Path(__file__).with_name("health.py")
    spec = importlib.util.spec_from_file_location("bench_health", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


health_bench = load_health_bench()


# -- CPU seconds of process trees, from /proc ----------------------------------------------------------


def process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of the process and of its reaped children)."""
    table: dict[int, tuple[int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        # fields[1] ppid; [11] utime, [12] stime, [13] cutime, [14] cstime (clock ticks)
        table[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / CLOCK_TICKS)
    return table


def tree_cpu(table: dict[int, tuple[int, float]], roots: list[int]) -> float:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo, seen = 0.0, [r for r in roots if r in table], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += table[pid][1]
        todo.extend(children.get(pid, []))
    return total


def direct_children() -> set[int]:
    me = os.getpid()
    return {pid for pid, (ppid, _) in process_table().items() if ppid == me}


def find_process(*needles: str) -> int | None:
    """The oldest process whose command line holds every needle (postmaster, redis-server)."""
    for pid in sorted(process_table()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(n in cmdline for n in needles):
            return pid
    return None


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores, from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    total = sum(ticks[:8])  # guest time is already inside user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuGroups:
    """The process trees whose CPU a phase reports, each by its root pids."""

    simulators: list[int] = field(default_factory=list)
    postgres: list[int] = field(default_factory=list)
    redis: list[int] = field(default_factory=list)
    workers: list[int] = field(default_factory=list)

    def snapshot(self) -> dict[str, float]:
        table = process_table()
        busy, total = machine_cpu()
        return {
            "machine_busy": busy,
            "machine_total": total,
            "workers": tree_cpu(table, self.workers),
            "here": own_cpu(),
            "simulators": tree_cpu(table, self.simulators),
            "postgres": tree_cpu(table, self.postgres),
            "redis": tree_cpu(table, self.redis),
        }


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds of each group in the phase, their total, and the machine's busy share (all processes)."""
    delta = {k: round(after[k] - before[k], 2) for k in before if not k.startswith("machine")}
    delta["total"] = round(sum(delta.values()), 2)
    machine = after["machine_total"] - before["machine_total"]
    delta["machine_busy"] = (
        round((after["machine_busy"] - before["machine_busy"]) / machine, 3) if machine else 0
    )
    return delta


# -- the workers ---------------------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "<no log>"

    def stop(self) -> None:
        """SIGTERM to the supervisor, which stops its Celery child (as systemd's KillMode=mixed does), then
        SIGKILL to whatever of the process group is left."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever of the group is left
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def start_worker(name: str, processes: int, env: dict[str, str], workdir: Path) -> Worker:
    log = workdir / f"{name}.log"
    vtrack = Path(sys.executable).with_name("vtrack")
    command = [str(vtrack)] if vtrack.exists() else [sys.executable, "-m", "vtrack"]
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603  (our own CLI, fixed arguments)
            [*command, "worker", "--concurrency", str(processes)],
            env={**env, "VTRACK_NODE_NAME": name},
            cwd=workdir,  # no vtrack.toml of the checkout is picked up
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Worker(name, process, log)


async def wait_ready(celery: Any, workers: list[Worker], within: float = 180.0) -> float:
    """Until every worker's Celery node answers a ping; returns the seconds it took."""
    started = time.perf_counter()
    while True:
        for worker in workers:
            if worker.process.poll() is not None:
                raise RuntimeError(f"{worker.name} exited with {worker.process.returncode}:\n{worker.tail()}")
        replies = await asyncio.to_thread(celery.control.ping, timeout=1)
        if len({name for reply in replies for name in reply}) >= len(workers):
            return time.perf_counter() - started
        if time.perf_counter() - started > within:
            tails = "\n".join(f"--- {w.name}\n{w.tail()}" for w in workers)
            raise RuntimeError(f"workers did not answer a ping within {within:g} s:\n{tails}")
        await asyncio.sleep(0.5)


# -- phases --------------------------------------------------------------------------------------------


@dataclass
class Phase:
    workers: int
    label: str
    wall_s: float
    cpu_s: dict[str, float]
    items: int
    ok: int
    failed: int
    passed: bool
    detail: dict[str, Any]

    @property
    def cores_busy(self) -> float:
        return self.cpu_s["total"] / self.wall_s if self.wall_s else 0.0

    def row(self) -> str:
        workers = f"{self.workers} worker{'s' if self.workers > 1 else ''}"
        cells = [
            f"  {workers:<9} {self.label:<22} {self.wall_s:7.2f}",
            f"{self.items:6d} {self.ok:6d} {self.failed:6d}",
            *(f"{self.cpu_s[k]:{w}.1f}" for k, w in CPU_COLUMNS),
            f"{self.cores_busy:5.2f} {self.cpu_s['machine_busy']:7.0%}  {'ok' if self.passed else 'FAILED'}",
        ]
        return " ".join(cells)


CPU_COLUMNS = [("workers", 7), ("here", 5), ("simulators", 10), ("postgres", 8), ("redis", 5), ("total", 6)]
HEADER = " ".join(
    [
        f"  {'':<9} {'':<22} {'':>7} {'':>6} {'':>6} {'':>6}",
        f"{'CPU seconds':-^{sum(w for _, w in CPU_COLUMNS) + len(CPU_COLUMNS) - 1}}",
        "\n",
        f"  {'config':<9} {'phase':<22} {'wall s':>7} {'items':>6} {'ok':>6} {'failed':>6}",
        *(f"{k:>{w}}" for k, w in CPU_COLUMNS),
        "cores machine  check",
    ]
).replace(" \n ", "\n")


def node_of(worker: str | None) -> str:
    return (worker or "?").rsplit(":", 1)[0]


async def health_round(
    services: Any, label: str, args: argparse.Namespace, groups: CpuGroups, workers: int
) -> Phase:
    from sqlalchemy import select

    from vtrack.db.models import JobRun
    from vtrack.health.checker import SAMPLE_SECONDS

    runner = services.jobs
    await asyncio.sleep(1.5)  # let the previous round's feeds idle out in the simulator
    before, started = groups.snapshot(), time.perf_counter()
    ids = [
        await runner.submit("health.check", {"shard": i, "shards": args.shards}) for i in range(args.shards)
    ]
    await asyncio.wait_for(asyncio.gather(*(runner.wait(i) for i in ids)), args.round_limit)
    wall = time.perf_counter() - started
    cpu = cpu_delta(before, groups.snapshot())
    async with services.database.session() as session:
        runs = list(await session.scalars(select(JobRun).where(JobRun.id.in_(ids))))
    results = [run.result or {} for run in runs]
    checked = sum(int(r.get("checked", 0)) for r in results)
    ok = sum(int(r.get("ok", 0)) for r in results)
    failed = sum(int(r.get("failed", 0)) for r in results)
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r.get("byError") or {})
    statuses = Counter(run.status for run in runs)
    passed = statuses == Counter({"succeeded": args.shards}) and checked == args.cameras
    # Checks in flight at once, each at least the sample time long: the round cannot be shorter.
    waves = -(-args.shards // (workers * args.processes))
    floor = waves * args.cameras / args.shards / args.concurrency * SAMPLE_SECONDS
    detail = {
        "floor_s": round(floor, 2),
        "checked": checked,
        "changed": sum(int(r.get("changed", 0)) for r in results),
        "job_status": dict(statuses),
        "jobs_per_node": dict(Counter(node_of(run.worker) for run in runs)),
        "attempts": sum(run.attempts for run in runs),
        "shard_seconds": [r.get("durationSeconds") for r in results],
        "by_error": dict(errors),
        "job_errors": [run.error for run in runs if run.error],
    }
    return Phase(workers, label, wall, cpu, checked, ok, failed, passed, detail)


def window(hours: float) -> tuple[datetime, datetime]:
    """A past range on the simulator's 10-minute recording grid (as tests/test_scale_out.py picks it)."""
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    end -= timedelta(minutes=end.minute % SEGMENT_MINUTES)
    return end - timedelta(hours=hours), end


async def sync_job(api: Any, job_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/sync/jobs/{job_id}")
    response.raise_for_status()
    data: dict[str, Any] = response.json()["data"]
    return data


async def until_finished(api: Any, job_ids: list[str], within: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        jobs = [await sync_job(api, job_id) for job_id in job_ids]
        if all(job["state"] in {"done", "failed"} for job in jobs):
            return jobs
        if time.monotonic() > deadline:
            raise TimeoutError(f"sync jobs not finished within {within:g} s: {jobs}")
        await asyncio.sleep(0.2)


async def sync_phase(
    app: Any,
    sites: list[dict[str, list[Any]]],
    span: tuple[datetime, datetime],
    args: argparse.Namespace,
    groups: CpuGroups,
    workers: int,
) -> Phase:
    from httpx import ASGITransport, AsyncClient

    from vtrack.simulator.config import DEFAULT_PASSWORD, DEFAULT_USERNAME

    transport = ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with AsyncClient(transport=transport, base_url="http://bench", timeout=60) as api:
        login = await api.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        login.raise_for_status()
        api.headers["Authorization"] = f"Bearer {login.json()['data']['accessToken']}"
        sources = []
        for n, site in enumerate(sites, start=1):
            body = {
                "name": f"NVR {n}",
                "type": "nvr",
                "host": "127.0.0.1",
                "port": site["onvif"][0],
                "username": DEFAULT_USERNAME,
                "password": DEFAULT_PASSWORD,
            }
            response = await api.post("/api/v1/sources", json=body)
            if response.status_code != 201:
                raise RuntimeError(f"saving NVR {n}: {response.status_code} {response.text}")
            sources.append(response.json()["data"]["id"])

        # Wait out the automatic sync that saving each source starts (the scheduler submits it).
        deadline = time.monotonic() + 120
        auto: dict[str, str] = {}
        while len(auto) < len(sources):
            for source_id in sources:
                status = (await api.get(f"/api/v1/sources/{source_id}/sync-status")).json()["data"]
                if status.get("lastJobId"):
                    auto[source_id] = status["lastJobId"]
            if time.monotonic() > deadline:
                raise TimeoutError(f"the automatic syncs were not submitted: {auto}")
            await asyncio.sleep(0.3)
        auto_jobs = await until_finished(api, list(auto.values()), 180)
        await asyncio.sleep(1.0)

        start, end = span
        before, started = groups.snapshot(), time.perf_counter()
        job_ids = []
        for source_id in sources:
            body = {"source_id": source_id, "start": start.isoformat(), "end": end.isoformat()}
            response = await api.post("/api/v1/download-nvr-videos", json=body)
            if response.status_code != 202:
                raise RuntimeError(f"download-nvr-videos: {response.status_code} {response.text}")
            job_ids.append(response.json()["data"]["jobId"])
        jobs = await until_finished(api, job_ids, args.sync_limit)
        wall = time.perf_counter() - started
        cpu = cpu_delta(before, groups.snapshot())
        runs = [(await api.get(f"/api/v1/jobs/{job_id}")).json()["data"] for job_id in job_ids]

    expected = NVR_CAMERAS * round((end - start) / timedelta(minutes=SEGMENT_MINUTES))
    done = sum(int(job["segmentsDone"] or 0) for job in jobs)
    failed = sum(int(job["segmentsFailed"] or 0) for job in jobs)
    passed = all(
        job["state"] == "done"
        and int(job["segmentsFailed"] or 0) == 0
        and job["segmentsDone"] == job["segmentsTotal"] == expected
        for job in jobs
    )
    detail = {
        "window": [start.isoformat(), end.isoformat()],
        "segments_expected": expected * len(jobs),
        "segments_total": sum(int(job["segmentsTotal"] or 0) for job in jobs),
        "bytes": sum(int(job["bytesDone"] or 0) for job in jobs),
        "job_state": dict(Counter(job["state"] for job in jobs)),
        "jobs_per_node": dict(Counter(node_of(run.get("worker")) for run in runs)),
        "attempts": sum(int(run.get("attempts") or 0) for run in runs),
        "auto_sync_state": dict(Counter(job["state"] for job in auto_jobs)),
        "job_errors": [job["error"] for job in jobs if job["error"]],
    }
    return Phase(
        workers, f"sync {len(jobs) * NVR_CAMERAS} cameras", wall, cpu, done, done, failed, passed, detail
    )


# -- one configuration ----------------------------------------------------------------------------------


@dataclass
class Shared:
    """What both configurations use: the peers, the simulators, the key, the window."""

    postgres_url: str
    redis_url: str
    secret_key: str
    urls: list[str]
    sites: list[dict[str, list[Any]]]
    span: tuple[datetime, datetime]
    groups: CpuGroups


async def register_cameras(services: Any, urls: list[str]) -> None:
    """The simulated cameras as bench/health.py registers them, passwords sealed with the shared key."""
    from sqlalchemy import insert

    from vtrack.db.models import Camera
    from vtrack.db.types import new_id, utcnow
    from vtrack.registry.cameras import PASSWORD_PURPOSE

    sealed = services.keyring.encrypt(health_bench.PASSWORD, PASSWORD_PURPOSE)
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "name": f"Camera {n:04d}",
            "rtsp_url": url,
            "username": health_bench.USER,
            "password_encrypted": sealed,
            "fps": health_bench.FPS,
            "status": "idle",
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }
        for n, url in enumerate(urls)
    ]
    async with services.database.transaction() as session:
        for at in range(0, len(rows), 1000):
            await session.execute(insert(Camera), rows[at : at + 1000])


async def configuration(count: int, shared: Shared, args: argparse.Namespace) -> list[Phase]:
    from tests.conftest import fresh_postgres_database

    from vtrack.app import create_app
    from vtrack.settings import Settings

    database_url = await fresh_postgres_database(shared.postgres_url)
    broker_url = shared.redis_url.rsplit("/", 1)[0] + f"/{count}"  # a Redis database per configuration
    workdir = Path(tempfile.mkdtemp(prefix=f"vtrack-scale-{count}w-"))
    data_dir = workdir / "data"
    common = {
        "database_url": database_url,
        "broker_url": broker_url,
        "data_dir": data_dir,
        "secret_key": shared.secret_key,
        "health_concurrency": args.concurrency,
        "health_timeout_seconds": args.timeout,
        "snapshot_refresh_minutes": 0,
        "sync_lookback_hours": 0.01,
        "archive_reserve_gb": 0,
        "archive_reserve_inodes": 0,
        "log_level": "WARNING",
    }
    settings = Settings(**common, admin_password=ADMIN_PASSWORD, analytics_live=False)  # type: ignore[arg-type]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VTRACK_")}
    env.update({f"VTRACK_{k.upper()}": str(v) for k, v in common.items()}, NO_COLOR="1")
    app = create_app(settings)
    services = app.state.services
    print(
        f"\n{count} worker{'s' if count > 1 else ''} x {args.processes} job processes "
        f"(load average {os.getloadavg()[0]:.2f}); logs in {workdir}",
        flush=True,
    )
    phases: list[Phase] = []
    async with app.router.lifespan_context(app):  # migrates the fresh database, creates the admin
        await register_cameras(services, shared.urls)
        workers = [start_worker(f"bench-w{k}", args.processes, env, workdir) for k in range(1, count + 1)]
        shared.groups.workers = [w.process.pid for w in workers]
        try:
            ready = await wait_ready(services.jobs.celery, workers)
            print(f"  workers answered a ping after {ready:.1f} s", flush=True)
            print(HEADER, flush=True)
            for label in ("health, first round", "health, steady state"):
                phase = await health_round(services, label, args, shared.groups, count)
                print(phase.row(), flush=True)
                phases.append(phase)
            phase = await sync_phase(app, shared.sites, shared.span, args, shared.groups, count)
            print(phase.row(), flush=True)
            phases.append(phase)
            for phase in phases:
                if not phase.passed or phase.detail.get("by_error"):
                    print(f"    {phase.label}: {json.dumps(phase.detail, default=str)}", flush=True)
        finally:
            for worker in workers:
                worker.stop()
            shared.groups.workers = []
    shutil.rmtree(data_dir, ignore_errors=True)
    return phases


# -- the report ----------------------------------------------------------------------------------------


SATURATED = 0.85  # the machine's share of busy cores from which a phase counts as CPU-bound


def interpretation(one: Phase, two: Phase, cpus: int, processes: int) -> str:
    """A reading of the ratio that the measured figures support, and no more."""
    ratio = one.wall_s / two.wall_s
    busy_one, busy_two = one.cpu_s["machine_busy"], two.cpu_s["machine_busy"]
    floors = ""
    if "floor_s" in one.detail:
        floors = (
            f"; sample-time floor {one.detail['floor_s']:.1f} s with 1 worker, "
            f"{two.detail['floor_s']:.1f} s with 2"
        )
    if busy_one >= SATURATED:
        text = (
            f"{ratio:.2f}x: with 1 worker the {cpus} cores were already {busy_one:.0%} busy, so a second "
            "worker on the same cores cannot add CPU: the ratio shows the CPU ceiling and the coordination "
            "overhead, not what a second host would give"
        )
    elif busy_two >= SATURATED:
        text = (
            f"{ratio:.2f}x: 1 worker left the cores {busy_one:.0%} busy, bound by its {processes} job "
            f"processes{floors}; 2 workers used the cores up ({busy_two:.0%}), so the ratio stops where the "
            f"{cpus} shared cores run out, not where a second host with cores of its own would"
        )
    elif ratio >= 1.5:
        text = (
            f"{ratio:.2f}x: the second worker's job processes were put to work, the cores never saturated "
            f"({busy_one:.0%}, {busy_two:.0%} busy){floors}"
        )
    else:
        text = (
            f"{ratio:.2f}x with the cores {busy_one:.0%} and {busy_two:.0%} busy: neither the job processes "
            f"nor the CPU explain the limit{floors}"
        )
    others = busy_one - one.cores_busy / cpus
    if others >= 0.1:
        text += (
            f" (other processes on the machine took {others:.0%} of it under 1 worker: noisy figures, and "
            "more runnable processes of ours win a larger share of the cores from them, lifting the ratio)"
        )
    return text


def report(phases: list[Phase], args: argparse.Namespace, load: tuple[float, ...]) -> dict[str, Any]:
    cpus = os.cpu_count() or 1
    by = {(p.workers, p.label): p for p in phases}
    print("\nspeed-up, 1-worker wall / 2-worker wall:")
    speedup: dict[str, Any] = {}
    for label in dict.fromkeys(p.label for p in phases):
        one, two = by.get((1, label)), by.get((2, label))
        if one is None or two is None:
            continue
        line = interpretation(one, two, cpus, args.processes)
        speedup[label] = {
            "one_worker_s": round(one.wall_s, 2),
            "two_workers_s": round(two.wall_s, 2),
            "ratio": round(one.wall_s / two.wall_s, 3),
            "cores_busy_one": round(one.cores_busy, 2),
            "cores_busy_two": round(two.cores_busy, 2),
            "machine_busy_one": one.cpu_s["machine_busy"],
            "machine_busy_two": two.cpu_s["machine_busy"],
            # The same work on 2 workers: any extra CPU is what distributing it costs.
            "cpu_s_one": one.cpu_s["total"],
            "cpu_s_two": two.cpu_s["total"],
            "interpretation": line,
        }
        cpu = f"CPU {one.cpu_s['total']:.1f} s -> {two.cpu_s['total']:.1f} s"
        print(f"  {label:<22} {one.wall_s:7.2f} s / {two.wall_s:7.2f} s ({cpu}) = {line}")
    print(
        f"machine: {cpus} CPUs, load average before the run {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"{args.shards} shards, {args.processes} job processes a worker, {args.concurrency} checks at once "
        "a job process"
    )
    return {
        "args": vars(args),
        "cpus": cpus,
        "load_average_before": list(load),
        "phases": [{**asdict(p), "cores_busy": round(p.cores_busy, 2)} for p in phases],
        "speedup": speedup,
        "passed": all(p.passed for p in phases),
    }


# -- main ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def nvr_simulators(groups: CpuGroups) -> Iterator[list[dict[str, list[Any]]]]:
    from tests.peers.simulator_process import simulator_process

    with contextlib.ExitStack() as stack:
        sites = []
        for _ in range(NVRS):
            before = direct_children()
            sites.append(stack.enter_context(simulator_process(nvr=True)))
            groups.simulators.extend(direct_children() - before)
        yield sites


@contextlib.contextmanager
def health_simulators(args: argparse.Namespace, groups: CpuGroups) -> Iterator[list[str]]:
    hosts = [f"127.0.0.{2 + i}" for i in range(args.hosts)]
    per_host = -(-args.cameras // args.hosts)
    parts = [hosts[i :: args.simulators] for i in range(min(args.simulators, len(hosts)))]
    children = []
    try:
        for part in parts:
            child = health_bench.Child(part, per_host)
            children.append(child)
            groups.simulators.append(child.process.pid)
        yield [url for child in children for url in child.urls][: args.cameras]
    finally:
        for child in children:
            child.stop()


async def bench(args: argparse.Namespace) -> int:
    from tests.peers.postgres import running_postgres
    from tests.peers.redis_server import running_redis

    load = os.getloadavg()
    print(
        f"scale-out benchmark: health round over {args.cameras} cameras on {args.hosts} loopback hosts "
        f"({args.simulators} simulator processes), {args.shards} shards; sync of {NVRS * NVR_CAMERAS} "
        f"cameras ({NVRS} NVRs), {args.sync_hours:g} h each; 1 then 2 workers x {args.processes} job "
        f"processes; {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    groups = CpuGroups()
    phases: list[Phase] = []
    with running_postgres() as postgres_url, running_redis() as redis:
        port = postgres_url.rsplit(":", 1)[1].split("/", 1)[0]
        postmaster = find_process("postgres", "-p", f" {port} ")
        redis_pid = find_process("redis-server", f"127.0.0.1:{redis.port}")
        groups.postgres = [postmaster] if postmaster else []
        groups.redis = [redis_pid] if redis_pid else []
        with health_simulators(args, groups) as urls, nvr_simulators(groups) as sites:
            shared = Shared(
                postgres_url=postgres_url,
                redis_url=redis.url,
                secret_key=base64.b64encode(os.urandom(32)).decode(),
                urls=urls,
                sites=sites,
                span=window(args.sync_hours),
                groups=groups,
            )
            for count in (1, 2):
                phases.extend(await configuration(count, shared, args))
    result = report(phases, args, load)
    if args.json:
        text = json.dumps(result, indent=2, default=str)
        await asyncio.to_thread(Path(args.json).write_text, text)
    return 0 if result["passed"] else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cameras", type=int, default=5000)
    parser.add_argument("--hosts", type=int, default=20, help="loopback hosts 127.0.0.2 and on")
    parser.add_argument(
        "--simulators", type=int, default=2, help="simulator processes the hosts are split over"
    )
    parser.add_argument("--shards", type=int, default=4, help="health.check jobs a round is split into")
    parser.add_argument("--processes", type=int, default=2, help="job processes a worker (--concurrency)")
    parser.add_argument("--concurrency", type=int, default=100, help="checks at once in a job process")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds a camera check may take")
    parser.add_argument("--sync-hours", type=float, default=1.0, help="the past window each NVR syncs")
    parser.add_argument("--round-limit", type=float, default=900.0, help=argparse.SUPPRESS)
    parser.add_argument("--sync-limit", type=float, default=600.0, help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write everything here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
