"""Live analytics benchmark: N channels of a real clip served by the simulator, analysed by the server's
channel manager (reader -> YOLOX -> ByteTrack -> counting -> buffered SQLite writes) for a while.

Baseline, same run: the same clip analysed as a file (every frame, as fast as the machine allows); the
live figures are reported next to it (processed fps as a ratio of the file's, counts per clip pass).
Reported per configuration: processed fps per channel, frames dropped, latency capture -> analysed and
capture -> event written (p50/p95), CPU % of the analysing process and of the simulator, RSS at the end
of warm-up and at the end (growth %). Targets on a 2-core box: >= 10 fps per channel with 4 channels,
>= 15 fps with one, p95 latency < 300 ms, RSS growth < 5 % after warm-up.

    .venv/bin/python bench/live.py [--channels 4,1] [--seconds 600] [--warmup 60]
        [--video ../shared/data/people_walk_720p50.avi] [--model ../shared/models/yolox_nano.onnx]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from vtrack.analytics.counting.specs import parse_line, parse_zone
from vtrack.analytics.file_run import analyze_file
from vtrack.analytics.options import AnalysisOptions
from vtrack.db.migrate import upgrade
from vtrack.db.models import AnalyticsChannel
from vtrack.db.session import Database
from vtrack.events.bus import EventBus
from vtrack.registry.analytics_channels import CHANNEL_PASSWORD
from vtrack.security.encryption import Keyring
from vtrack.settings import Settings
from vtrack.simulator.config import DEFAULT_PASSWORD, DEFAULT_USERNAME

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/peers: shared test helpers

from tests.peers.ports import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
LINES = ["upper:0,0.45,1,0.45", "middle:0,0.6,1,0.6", "lower:0,0.75,1,0.75", "left:0.35,0,0.35,1"]
ZONES = ["centre:0.3,0.3,0.7,0.3,0.7,0.9,0.3,0.9"]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str = "self") -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_simulator(video: Path, cameras: int, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "vtrack", "simulate", "--video", str(video), "--cameras", str(cameras),
        "--rtsp-port", str(port), "--onvif-port-base", str(free_port()), "--control-port", "0",
        "--sdk-port-base", "0", "--no-discovery",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the simulator did not start")


async def file_baseline(video: Path, model: Path) -> dict[str, Any]:
    options = AnalysisOptions(
        model=model,
        lines=tuple(parse_line(t, i) for i, t in enumerate(LINES)),
        zones=tuple(parse_zone(t, i) for i, t in enumerate(ZONES)),
    )
    return await analyze_file(video, options)


async def live_run(video: Path, model: Path, channels: int, seconds: float, warmup: float) -> dict[str, Any]:
    from vtrack.analytics.live.manager import ChannelManager

    port = free_port()
    simulator = start_simulator(video, channels, port)
    with tempfile.TemporaryDirectory(prefix="vtrack-bench-live-") as tmp:
        settings = Settings(data_dir=Path(tmp), analytics_model=model, analytics_reconnect_seconds=1.0)
        database = Database(settings.resolved_database_url)
        await upgrade(database)
        keyring = Keyring(current=os.urandom(32))
        async with database.transaction() as session:
            for n in range(channels):
                session.add(
                    AnalyticsChannel(
                        name=f"bench {n + 1}",
                        url=f"rtsp://127.0.0.1:{port}/live/{n + 1}",
                        username=DEFAULT_USERNAME,
                        password_encrypted=keyring.encrypt(DEFAULT_PASSWORD, CHANNEL_PASSWORD),
                        lines=[parse_line(t, i).to_dict() for i, t in enumerate(LINES)],
                        zones=[parse_zone(t, i).to_dict() for i, t in enumerate(ZONES)],
                    )
                )
        manager = ChannelManager(database, keyring, settings, EventBus())
        cpu0, sim0, t0 = cpu_seconds(), cpu_seconds(simulator.pid), time.monotonic()
        await manager.start()
        rss: list[tuple[float, float]] = []
        warm_cpu: tuple[float, float, float] | None = None
        frames_at_warm: dict[str, int] = {}
        while (elapsed := time.monotonic() - t0) < seconds:
            await asyncio.sleep(5)
            rss.append((elapsed, rss_mib()))
            if warm_cpu is None and elapsed >= warmup:
                warm_cpu = (cpu_seconds(), cpu_seconds(simulator.pid), time.monotonic())
                frames_at_warm = {k: w.stats.frames_processed for k, w in manager.workers.items()}
                for worker in manager.workers.values():  # latency windows restart after warm-up
                    worker.stats.latency._samples.clear()
                    worker.stats.event_latency._samples.clear()
        assert warm_cpu is not None, "--seconds must exceed --warmup"
        cpu1, sim1, t1 = cpu_seconds(), cpu_seconds(simulator.pid), time.monotonic()
        span = t1 - warm_cpu[2]
        per_channel = []
        for channel_id, worker in manager.workers.items():
            stats = worker.stats
            per_channel.append(
                {
                    "fps": round((stats.frames_processed - frames_at_warm.get(channel_id, 0)) / span, 2),
                    "fps_in": round(stats.frames_in / (t1 - t0), 2),
                    "dropped": stats.dropped,
                    "reconnects": stats.reconnects,
                    "latency_p50_ms": stats.latency.percentile(50),
                    "latency_p95_ms": stats.latency.percentile(95),
                    "event_latency_p50_ms": stats.event_latency.percentile(50),
                    "event_latency_p95_ms": stats.event_latency.percentile(95),
                    "events": len(stats.event_latency._samples),
                }
            )
        totals = {cid: w.pipeline.totals() if w.pipeline else {} for cid, w in manager.workers.items()}
        await manager.stop()
        await database.dispose()
    simulator.terminate()
    simulator.wait(10)
    warm_rss = statistics.median(v for t, v in rss if warmup <= t < warmup + 60) if rss else 0.0
    end_rss = statistics.median(v for t, v in rss if t >= rss[-1][0] - 60) if rss else 0.0
    return {
        "channels": channels,
        "seconds": round(t1 - t0, 1),
        "per_channel": per_channel,
        "cpu_percent": round(100 * (cpu1 - warm_cpu[0]) / span, 1),
        "simulator_cpu_percent": round(100 * (sim1 - warm_cpu[1]) / span, 1),
        "rss_warm_mib": round(warm_rss, 1),
        "rss_end_mib": round(end_rss, 1),
        "rss_growth_percent": round(100 * (end_rss - warm_rss) / warm_rss, 2) if warm_rss else None,
        "rss_every_minute_mib": [round(v, 1) for t, v in rss if int(t) % 60 < 5],
        "totals": totals,
        "_sim_start": cpu0 + sim0,
    }


def line_sum(totals: dict[str, Any]) -> int:
    return sum(v["in"] + v["out"] for v in totals.get("lines", {}).values())


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--channels", default="4,1", help="configurations to run, e.g. 4,1")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--video", type=Path, default=SHARED / "data" / "people_walk_720p50.avi")
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "yolox_nano.onnx")
    args = parser.parse_args()
    baseline = await file_baseline(args.video, args.model)
    print(
        f"file baseline: {baseline['frames_processed']} frames at {baseline['processed_fps']} fps, "
        f"line crossings per pass {line_sum(baseline)}"
    )
    clip_seconds = baseline["frames_in"] / 25.0
    results = []
    for channels in (int(c) for c in args.channels.split(",")):
        result = await live_run(args.video, args.model, channels, args.seconds, args.warmup)
        result.pop("_sim_start")
        results.append(result)
        fps = [c["fps"] for c in result["per_channel"]]
        p95 = [
            c["event_latency_p95_ms"] for c in result["per_channel"] if c["event_latency_p95_ms"] is not None
        ]
        passes = result["seconds"] / clip_seconds
        crossings = [line_sum(t) / passes for t in result["totals"].values()]
        target = 10 if channels > 1 else 15
        print(
            f"{channels} channel(s), {result['seconds']} s: fps per channel {fps} (min {min(fps)}, "
            f"target >= {target}; {min(fps) / baseline['processed_fps']:.2f}x the file baseline), "
            f"event latency p95 {[round(v) for v in p95]} ms (target < 300), frame latency p95 "
            f"{[round(c['latency_p95_ms'] or 0) for c in result['per_channel']]} ms, "
            f"CPU {result['cpu_percent']} % "
            f"(+ simulator {result['simulator_cpu_percent']} %), RSS {result['rss_warm_mib']} -> "
            f"{result['rss_end_mib']} MiB ({result['rss_growth_percent']} %, target < 5), crossings per pass "
            f"{[round(c, 1) for c in crossings]} vs file {line_sum(baseline)}"
        )
    print(json.dumps({"baseline": baseline, "live": results}, indent=2, default=str))


if __name__ == "__main__":
    asyncio.run(main())
