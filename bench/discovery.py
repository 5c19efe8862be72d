"""Discovery sweep benchmark: 254 hosts x 3 ports, some of them simulated ONVIF cameras.

A child process (this script with --serve) runs simulated cameras on every `--every`-th address of
127.0.7.0/24, three single-camera devices per host on ports 1000-1002 (seed 000's layout), with no
WS-Discovery. This process sweeps all 254 hosts x those 3 ports with vtrack's discovery (unicast probing,
WS-Discovery off so the figure is the sweep itself), and reports wall time, CPU seconds of both
processes, addresses per second and cameras found.

Baseline, same run: the seed's way — probe the same targets one after another (concurrency 1) — over
an eighth of the hosts, extrapolated to the whole sweep. Target: the full sweep < 10 s.

    .venv/bin/python bench/discovery.py [--every 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SUBNET = "127.0.7"
PORTS = [1000, 1001, 1002]
TARGET_SECONDS = 10.0


async def serve(every: int) -> None:
    from vtrack.simulator.config import SimulatorConfig, default_cameras
    from vtrack.simulator.runner import Simulator

    simulators = []
    for host in range(1, 255, every):
        config = SimulatorConfig(
            cameras=default_cameras(3), host=f"{SUBNET}.{host}", onvif_port_base=PORTS[0], rtsp_port=0
        )
        simulator = Simulator(config, discovery_port=None)
        await simulator.start()
        simulators.append(simulator)
    print(len(simulators), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    for simulator in simulators:
        await simulator.stop()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def sweep(hosts: list[str], concurrency: int) -> tuple[float, float, int, int]:
    from vtrack.devices.scan import ScanOptions, discover

    options = ScanOptions(username="admin", password="admin123", concurrency=concurrency, ws_discovery=False)
    started, cpu = time.perf_counter(), own_cpu()
    result = await discover(hosts=hosts, ports=PORTS, options=options)
    return time.perf_counter() - started, own_cpu() - cpu, len(result.cameras), result.scanned


def start_child(every: int) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603  (this same script, fixed arguments)
        [sys.executable, __file__, "--serve", "--every", str(every)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


async def measure(every: int) -> int:
    child = start_child(every)
    assert child.stdout is not None and child.stdin is not None
    try:
        simulated = int(child.stdout.readline())
        hosts = [f"{SUBNET}.{n}" for n in range(1, 255)]
        child_cpu = cpu_seconds(child.pid)
        wall, cpu, cameras, scanned = await sweep(hosts, concurrency=256)
        child_cpu = cpu_seconds(child.pid) - child_cpu
        sample = hosts[: len(hosts) // 8]
        base_wall, _base_cpu, base_cameras, base_scanned = await sweep(sample, concurrency=1)
        baseline = base_wall * len(hosts) / len(sample)
    finally:
        child.stdin.close()
        child.wait(30)
    print(f"discovery sweep: {len(hosts)} hosts x {len(PORTS)} ports = {scanned} addresses")
    print(f"  simulated devices: {simulated * 3} on {simulated} hosts; cameras found: {cameras}")
    print(f"  wall {wall:.2f} s, {scanned / wall:.0f} addresses/s")
    print(f"  CPU: sweep {cpu:.2f} s, simulator {child_cpu:.2f} s")
    print(f"  baseline: one at a time over {base_scanned} addresses ({base_cameras} cameras)")
    print(f"    extrapolated to the sweep: {baseline:.1f} s")
    print(f"  speed-up over baseline: {baseline / wall:.1f}x")
    passed = wall < TARGET_SECONDS and cameras == simulated * 3
    print(f"  target < {TARGET_SECONDS:g} s with every camera found: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--every", type=int, default=4, help="a simulated host every N addresses")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.every))
    else:
        sys.exit(asyncio.run(measure(args.every)))


if __name__ == "__main__":
    main()
