"""Health benchmark: one full health round over 1,000 simulated cameras, wall time and CPU seconds.

A child process (this script with --serve) runs one simulator RTSP server per loopback host
(127.0.0.2, 127.0.0.3, ...; 250 cameras each by default), like an NVR serving its channels. Every
camera streams 320x240 H.264 at 15 fps from one pre-encoded 2 s clip, paced in real time ("loop" live
mode, shared by all cameras: nothing is encoded per camera). This process registers the cameras in a
temporary SQLite database and runs the real HealthMonitor with the real RTSP probe: connect, DESCRIBE
with Digest auth, SETUP, PLAY, 0.5 s of frames, first keyframe decoded; results written in batches.

Rounds, all in this run:
- full: the round as scheduled (first round: every camera idle -> online, 1,000 events; second round:
  steady state, no events). Target: < 15 s.
- no decode: the same without decoding the first keyframe, to show what decoding costs.
- connect only (baseline): the same monitor and database writes, but the check is a bare TCP connect,
  the cheapest reachability test there is. full / connect-only is what a real stream check costs over a
  ping-style check.
- sequential (second baseline): concurrency 1 over a subset, extrapolated to all cameras: what checking
  one camera after another would take.

CPU seconds are counted for this process (probe, decode threads, SQLite) and the simulator child apart.

Then it runs bench/discovery.py: the discovery sweep of 254 hosts x 3 ports (target < 10 s).

    .venv/bin/python bench/health.py [--cameras 1000] [--hosts 4] [--concurrency 100] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_ROUND_S = 15.0
USER, PASSWORD = "admin", "bench-pass"
WIDTH, HEIGHT, FPS = 320, 240, 15


# -- the simulator child -----------------------------------------------------------------------------


async def serve(hosts: list[str], per_host: int) -> None:
    """One RTSP server per host, `per_host` cameras each, all looping one shared pre-encoded clip."""
    from vtrack.simulator.config import CameraSpec, SimulatorConfig
    from vtrack.simulator.media.encode import encode_pattern_clip
    from vtrack.simulator.media.live import ClipProducer, LiveFeed, Producer
    from vtrack.simulator.media.sources import CameraMedia, ClipCache
    from vtrack.simulator.rtsp import RtspServer

    template = CameraSpec(index=0, name="bench", width=WIDTH, height=HEIGHT, codec="h264", fps=FPS)
    clip = ClipCache(lambda: encode_pattern_clip(template, 2.0))
    await clip.get()

    def media(camera: CameraSpec) -> CameraMedia:
        async def producer() -> Producer:
            return ClipProducer(await clip.get())

        # A feed stops a second after its last viewer, so only the cameras being checked cost CPU.
        return CameraMedia(camera, LiveFeed(producer, idle_seconds=1.0), clip)

    servers = []
    for host in hosts:
        cameras = [
            CameraSpec(index=i, name=f"{host} cam {i + 1}", width=WIDTH, height=HEIGHT, codec="h264", fps=FPS)
            for i in range(per_host)
        ]
        config = SimulatorConfig(cameras=cameras, host=host, rtsp_port=0, username=USER, password=PASSWORD)
        server = RtspServer(config, {c.channel: media(c) for c in cameras}, session_timeout=30)
        await server.start()
        servers.append(server)
    urls = [server.url(camera) for server in servers for camera in server.config.cameras]
    print(json.dumps(urls), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    for server in servers:
        await server.stop()


class Child:
    def __init__(self, hosts: list[str], per_host: int) -> None:
        self.process = subprocess.Popen(  # noqa: S603  (this same script, fixed arguments)
            [sys.executable, __file__, "--serve", ",".join(hosts), "--per-host", str(per_host)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.urls: list[str] = json.loads(self.process.stdout.readline())

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


# -- this process: registry, monitor, rounds ---------------------------------------------------------


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Round:
    label: str
    cameras: int
    wall_s: float
    cpu_s: float
    child_cpu_s: float
    write_s: float
    result: dict[str, Any]

    @property
    def checks_per_s(self) -> float:
        return self.cameras / self.wall_s if self.wall_s else 0.0

    def line(self) -> str:
        return (
            f"  {self.label:<30} {self.cameras:5d} cameras  {self.wall_s:6.2f} s wall  "
            f"{self.checks_per_s:6.1f} checks/s  CPU {self.cpu_s:5.2f} s here "
            f"(DB writes {self.write_s:4.2f} s wall) + {self.child_cpu_s:5.2f} s simulator  "
            f"ok {self.result['ok']}, failed {self.result['failed']}, changed {self.result['changed']}"
        )


async def connect_only(
    url: str,
    *,
    username: str | None,
    password: str | None,
    timeout: float,  # noqa: ASYNC109  (the probe's contract)
    sample_seconds: float = 0.5,
    decode: bool = True,
) -> Any:
    """Baseline prober: a TCP connect and nothing else (reachability as a ping-style check sees it)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    started = time.perf_counter()
    async with asyncio.timeout(timeout):
        _reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    connect_ms = (time.perf_counter() - started) * 1000
    writer.close()
    await writer.wait_closed()

    @dataclass(frozen=True)
    class Reached:
        connect_ms: float
        describe_ms: float = 0.0
        first_frame_ms: float = -1.0
        fps: float | None = None
        codec: str = ""
        width: int | None = None
        height: int | None = None

    return Reached(connect_ms)


async def bench(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry
    from sqlalchemy import insert, update

    from vtrack.db.migrate import upgrade
    from vtrack.db.models import Camera
    from vtrack.db.session import Database
    from vtrack.db.types import new_id, utcnow
    from vtrack.events.bus import EventBus
    from vtrack.events.recorder import EventRecorder
    from vtrack.health.checker import HealthChecker
    from vtrack.health.jobs import default_prober
    from vtrack.health.metrics import HealthMetrics
    from vtrack.health.monitor import HealthMonitor
    from vtrack.registry.cameras import PASSWORD_PURPOSE
    from vtrack.security.encryption import Keyring

    class TimedMonitor(HealthMonitor):
        """Adds up the wall time spent applying batches (the database side of a round)."""

        write_s = 0.0

        async def _apply(self, batch: Any) -> Any:
            started = time.perf_counter()
            try:
                return await super()._apply(batch)
            finally:
                self.write_s += time.perf_counter() - started

    hosts = [f"127.0.0.{2 + i}" for i in range(args.hosts)]
    per_host = -(-args.cameras // args.hosts)
    print(
        f"health benchmark: {args.cameras} cameras ({WIDTH}x{HEIGHT} H.264 {FPS} fps) on {args.hosts} "
        f"loopback hosts, concurrency {args.concurrency}, timeout {args.timeout:g} s, "
        f"sample {args.sample:g} s; {os.cpu_count()} CPUs",
        flush=True,
    )
    child = Child(hosts, per_host)
    rounds: list[Round] = []
    try:
        urls = child.urls[: args.cameras]
        keyring = Keyring(current=os.urandom(32))
        tmp = tempfile.TemporaryDirectory(prefix="vtrack-health-bench-")
        database = Database(f"sqlite+aiosqlite:///{Path(tmp.name) / 'vtrack.db'}")
        await upgrade(database)
        sealed = keyring.encrypt(PASSWORD, PASSWORD_PURPOSE)
        now = utcnow()
        rows = [
            {
                "id": new_id(),
                "name": f"Camera {n:04d}",
                "rtsp_url": url,
                "username": USER,
                "password_encrypted": sealed,
                "fps": FPS,
                "status": "idle",
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for n, url in enumerate(urls)
        ]
        async with database.transaction() as session:
            await session.execute(insert(Camera), rows)
        metrics = HealthMetrics(CollectorRegistry())

        async def run(label: str, prober: Any, concurrency: int, decode: bool = True) -> Round:
            checker = HealthChecker(prober, timeout=args.timeout, sample_seconds=args.sample, decode=decode)
            monitor = TimedMonitor(
                database,
                keyring,
                checker,
                EventRecorder(EventBus()),
                metrics=metrics,
                concurrency=concurrency,
            )
            await asyncio.sleep(1.5)  # let the previous round's feeds idle out in the simulator
            wall, cpu, child_cpu = time.perf_counter(), own_cpu(), child.cpu_seconds()
            result = await monitor.run_round()
            one = Round(
                label,
                result.checked,
                time.perf_counter() - wall,
                own_cpu() - cpu,
                child.cpu_seconds() - child_cpu,
                monitor.write_s,
                result.as_dict(),
            )
            print(one.line(), flush=True)
            if result.by_error:
                print(f"    errors: {result.by_error}", flush=True)
            rounds.append(one)
            return one

        real = default_prober()
        first = await run("full, first round (all new)", real, args.concurrency)
        steady = await run("full, steady state", real, args.concurrency)
        no_decode = await run("full without decode", real, args.concurrency, decode=False)
        baseline = await run("baseline: TCP connect only", connect_only, args.concurrency)
        # Sequential baseline: a subset, concurrency 1; the others are made inactive for it.
        subset = rows[: args.sequential]
        async with database.transaction() as session:
            await session.execute(
                update(Camera).where(Camera.id.not_in([r["id"] for r in subset])).values(is_active=False)
            )
        sequential = await run(f"baseline: sequential, {len(subset)} cameras", real, 1)
        await database.dispose()
        tmp.cleanup()
    finally:
        child.stop()

    sequential_estimate = sequential.wall_s / max(1, sequential.cameras) * args.cameras
    decode_cpu = steady.cpu_s - no_decode.cpu_s
    per_camera_ms = 1000 * steady.cpu_s / steady.cameras
    verdict = "met" if steady.wall_s < TARGET_ROUND_S else "MISSED"
    floor = args.cameras / args.concurrency * args.sample
    print()
    print(
        f"one full round (steady state): {steady.wall_s:.2f} s wall for {steady.cameras} cameras, "
        f"{steady.checks_per_s:.0f} checks/s; target < {TARGET_ROUND_S:.0f} s: {verdict} "
        f"({TARGET_ROUND_S / steady.wall_s:.2f}x headroom)"
    )
    print(f"first round ({first.result['changed']} status changes and events): {first.wall_s:.2f} s")
    print(
        f"CPU per round: {steady.cpu_s:.2f} s in the monitor process ({per_camera_ms:.2f} ms a camera), "
        f"{steady.child_cpu_s:.2f} s in the simulator; DB writes {steady.write_s:.2f} s wall"
    )
    print(
        f"decoding the first keyframe: {decode_cpu:+.2f} s CPU a round "
        f"({1000 * decode_cpu / steady.cameras:+.2f} ms a camera), "
        f"{steady.wall_s - no_decode.wall_s:+.2f} s wall"
    )
    print(
        f"ratio vs TCP-connect-only round (same monitor and writes): {steady.wall_s / baseline.wall_s:.2f}x "
        f"wall, {steady.cpu_s / max(baseline.cpu_s, 1e-9):.2f}x CPU"
    )
    print(
        f"ratio vs sequential checks (extrapolated {sequential_estimate:.0f} s): "
        f"{sequential_estimate / steady.wall_s:.1f}x faster"
    )
    print(
        f"floor of the sample windows alone: {args.cameras} / {args.concurrency} x {args.sample:g} s "
        f"= {floor:.1f} s"
    )
    if args.json:
        report = json.dumps([r.__dict__ for r in rounds], indent=2, default=str)
        await asyncio.to_thread(Path(args.json).write_text, report)
    return 0 if steady.wall_s < TARGET_ROUND_S else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=4, help="loopback hosts 127.0.0.2 and on")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--sample", type=float, default=0.5, help="seconds of frames per check")
    parser.add_argument("--sequential", type=int, default=20, help="cameras in the sequential baseline")
    parser.add_argument("--json", help="also write the rounds here")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--per-host", type=int, default=250, help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-discovery", action="store_true", help="skip the discovery sweep (bench/discovery.py) run after"
    )
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve.split(","), args.per_host))
        return
    status = asyncio.run(bench(args))
    if not args.no_discovery:
        # The other figure, a 254-host x 3-port sweep, in its own process (its own simulators).
        sweep = subprocess.run([sys.executable, str(Path(__file__).with_name("discovery.py"))], check=False)  # noqa: S603
        status = status or sweep.returncode
    sys.exit(status)


if __name__ == "__main__":
    main()
