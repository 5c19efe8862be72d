"""Recording sync benchmark: 24 h of one camera's recordings, 4 cameras in parallel, a re-run, a kill -9.

A child process (this script with --serve) runs a simulated NVR: 4 channels of 640x360 H.264 at 15 fps
with the simulator's 7-day archive (one encoded loop per camera, replayed as fast as asked). This
process saves it as a source and runs vtrack's sync engine, as `vtrack sync` does:

- one camera, `--hours` of recordings (default 24): wall time, x real time, MB/s, CPU seconds here and
  in the simulator. Target: >= 50x real time.
- 4 cameras in parallel (device concurrency 4), `--parallel-hours` each (default 6, so the run stays
  a few minutes on 2 cores; pass 24 for the full day).
- a re-run with nothing new: wall time. Target: < 2 s.
- kill -9: `vtrack sync` in a subprocess over a fresh range, killed after --kill-after seconds, then run
  again to the end; checks that every chunk is archived exactly once, files match their index rows
  (size and sha256), and nothing partial sits at a final path.
- Baseline, same run: the same replay paced in real time (no `Rate-Control: no`, as `ffmpeg -i URI
  -c copy` plays it), measured for 20 s and extrapolated to the range.

    .venv/bin/python bench/sync.py [--hours 24] [--parallel-hours 6] [--kill-after 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

USER, PASSWORD = "admin", "bench-pass"
TARGET_X = 50.0
TARGET_RERUN_S = 2.0


async def serve() -> None:
    from vtrack.simulator.config import CameraSpec, SimulatorConfig
    from vtrack.simulator.runner import Simulator

    cameras = [
        CameraSpec(index=i, name=f"Bench {i + 1}", width=640, height=360, codec="h264", fps=15)
        for i in range(4)
    ]
    config = SimulatorConfig(
        cameras=cameras,
        host="127.0.0.1",
        onvif_port_base=0,
        rtsp_port=0,
        nvr=True,
        username=USER,
        password=PASSWORD,
    )
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    print(simulator.devices.devices[0].port, simulator.rtsp.port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await simulator.stop()


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def grid(hours_ago: float) -> datetime:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=hours_ago)
    return start - timedelta(minutes=start.minute % 10)


async def setup(data_dir: Path, port: int) -> tuple[object, str, list[str]]:
    from vtrack.app import build_services, prepare_database
    from vtrack.db.repositories.sources import SourceRepository
    from vtrack.devices.probe import probe_source
    from vtrack.registry.source_schemas import SourceCreate
    from vtrack.registry.sources import SourceService
    from vtrack.security.audit import Actor, Auditor
    from vtrack.settings import Settings

    settings = Settings(
        data_dir=data_dir,
        admin_password="bench-admin-pass",  # type: ignore[arg-type]
        archive_reserve_gb=0,
        sync_device_concurrency=4,
    )
    services = build_services(settings)
    await prepare_database(services, None)
    async with services.database.transaction() as session:
        service = SourceService(session, services.keyring, Auditor(session, Actor.system()), probe_source)
        body = SourceCreate(
            name="Bench NVR", type="nvr", host="127.0.0.1", port=port, username=USER, password=PASSWORD
        )  # type: ignore[arg-type]
        source = await service.create(body)
        cameras = [camera.id for camera in await SourceRepository(session).cameras(source.id)]
    return services, source.id, cameras


async def timed_run(
    services: object, source_id: str, start: datetime, end: datetime, cameras: list[str] | None, child: int
) -> dict[str, float]:
    began, cpu, sim_cpu = time.perf_counter(), own_cpu(), cpu_of(child)
    outcome = await services.sync.run_now(source_id, start, end, cameras)  # type: ignore[attr-defined]
    wall = time.perf_counter() - began
    return {
        "wall": wall,
        "cpu": own_cpu() - cpu,
        "sim_cpu": cpu_of(child) - sim_cpu,
        "media": outcome.media_seconds,
        "bytes": outcome.bytes_done,
        "chunks": outcome.chunks_done,
        "failed": outcome.chunks_failed,
    }


async def paced_baseline(port: int, channel: int, start: datetime, seconds: float) -> float:
    """x real time of a replay without Rate-Control: no (how a plain client plays a recording)."""
    from vtrack.devices.rtsp.client import RtspClient
    from vtrack.devices.rtsp.replay import clock_range

    url = f"rtsp://127.0.0.1:{port}/replay/{channel}"
    async with RtspClient(url, username=USER, password=PASSWORD, timeout=10) as client:
        track = (await client.describe()).video()
        assert track is not None
        await client.setup(track)
        await client.play(
            range_header=clock_range(start, start + timedelta(hours=1)), headers={"Require": "onvif-replay"}
        )
        began = time.perf_counter()
        first: int | None = None
        last = 0
        async for packet in client.packets():
            timestamp = getattr(packet, "timestamp", None)
            if timestamp is not None:
                first = timestamp if first is None else first
                last = timestamp
            if time.perf_counter() - began >= seconds:
                break
        media = ((last - (first or last)) % 2**32) / track.clock_rate
        return media / (time.perf_counter() - began)


def check_archive(data_dir: Path, expected_chunks: int) -> tuple[bool, str]:
    import sqlite3

    db = sqlite3.connect(data_dir / "vtrack.db")
    rows = db.execute("select path, size_bytes, sha256, state from downloaded_files").fetchall()
    done = [r for r in rows if r[3] == "done"]
    archive = data_dir / "archive"
    on_disk = {p.relative_to(archive).as_posix() for p in archive.rglob("*.mp4")}
    problems = []
    if len(done) != expected_chunks:
        problems.append(f"{len(done)} done rows, {expected_chunks} chunks expected")
    if len({r[0] for r in done}) != len(done):
        problems.append("duplicate paths in the index")
    if on_disk != {r[0] for r in done}:
        problems.append(f"{len(on_disk)} files on disk vs {len(done)} indexed")
    for path, size, sha, _ in done:
        data = (archive / path).read_bytes()
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
            problems.append(f"{path} does not match its row")
            break
    return not problems, "; ".join(problems) or f"{len(done)} chunks, each once, files match their rows"


async def measure(args: argparse.Namespace, port: int, rtsp_port: int, child: int) -> bool:
    services, source_id, cameras = await setup(
        Path(tempfile.mkdtemp(prefix="vtrack-bench-sync-")) / "data", port
    )
    try:
        start = grid(args.hours + 1)
        end = start + timedelta(hours=args.hours)
        one = await timed_run(services, source_id, start, end, cameras[:1], child)
        x_one = one["media"] / one["wall"]
        print("sync benchmark: simulated NVR, 640x360 H.264 15 fps; 2 CPUs")
        print(
            f"  1 camera, {args.hours:g} h: {one['wall']:.1f} s wall, {x_one:.0f}x real time, "
            f"{one['bytes'] / one['wall'] / 1e6:.1f} MB/s, "
            f"{one['chunks']:.0f} chunks ({one['failed']:.0f} failed), "
            f"CPU {one['cpu']:.1f} s here + {one['sim_cpu']:.1f} s simulator"
        )
        pstart = grid(args.parallel_hours + args.hours + 2)
        pend = pstart + timedelta(hours=args.parallel_hours)
        four = await timed_run(services, source_id, pstart, pend, cameras, child)
        x_four = four["media"] / four["wall"]
        print(
            f"  4 cameras in parallel, {args.parallel_hours:g} h each: {four['wall']:.1f} s wall, "
            f"{x_four:.0f}x real time in total ({x_four / 4:.0f}x per camera), "
            f"{four['bytes'] / four['wall'] / 1e6:.1f} MB/s, "
            f"CPU {four['cpu']:.1f} s here + {four['sim_cpu']:.1f} s"
        )
        rerun = await timed_run(services, source_id, start, end, cameras[:1], child)
        print(
            f"  re-run with nothing new ({args.hours:g} h, 1 camera): {rerun['wall']:.2f} s, "
            f"{rerun['chunks']:.0f} fetched"
        )
        paced = await paced_baseline(rtsp_port, 1, start, 20.0)
        print(
            f"  baseline, real-time paced replay: {paced:.2f}x real time, so {args.hours:g} h takes "
            f"{args.hours * 3600 / paced / 60:.0f} min; vtrack is {x_one / paced:.0f}x faster"
        )
        return x_one >= TARGET_X and rerun["wall"] < TARGET_RERUN_S and one["failed"] == 0
    finally:
        await services.database.dispose()  # type: ignore[attr-defined]


def kill_test(args: argparse.Namespace, port: int) -> bool:
    """`vtrack sync` killed with SIGKILL midway, then run again: each chunk archived once, files intact."""
    kill_dir = Path(tempfile.mkdtemp(prefix="vtrack-bench-kill-")) / "data"

    async def prepare() -> int:
        services, _source, cameras = await setup(kill_dir, port)
        await services.database.dispose()  # type: ignore[attr-defined]
        return len(cameras)

    cameras = asyncio.run(prepare())
    start = grid(args.hours + args.parallel_hours + 6)
    command = [
        str(Path(sys.executable).with_name("vtrack")), "sync", "Bench NVR", "--from", start.isoformat(),
        "--to", (start + timedelta(hours=2)).isoformat(), "--data-dir", str(kill_dir),
    ]  # fmt: skip
    env = {**os.environ, "VTRACK_ARCHIVE_RESERVE_GB": "0", "VTRACK_SYNC_DEVICE_CONCURRENCY": "4"}
    victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    time.sleep(args.kill_after)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    before = len(list((kill_dir / "archive").rglob("*.mp4")))
    finish = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    ok, detail = check_archive(kill_dir, expected_chunks=cameras * 12)
    ok = ok and finish.returncode == 0
    verdict = "nothing lost, nothing duplicated" if ok else "FAILED"
    print(
        f"  kill -9 after {args.kill_after:g} s ({before} files archived by then), "
        f"restart: {verdict} ({detail})"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--parallel-hours", type=float, default=6)
    parser.add_argument("--kill-after", type=float, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve())
        return
    child = subprocess.Popen(  # noqa: S603  (this script, fixed arguments)
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        port, rtsp_port = (int(p) for p in child.stdout.readline().split())
        fast = asyncio.run(measure(args, port, rtsp_port, child.pid))
        safe = kill_test(args, port)
    finally:
        child.stdin.close()
        child.wait(30)
    passed = fast and safe
    print(
        f"  targets (>= {TARGET_X:g}x, re-run < {TARGET_RERUN_S:g} s, kill -9 safe): "
        f"{'PASS' if passed else 'FAIL'}"
    )
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
