"""The simulator in a child process, for synchronous tests whose own event loop is not running.

schemathesis drives the app synchronously, so a simulator on the suite's event loop (or on a thread of
this process, competing for the GIL with PyAV's reads) cannot answer in time. A child process serves
small cameras on ephemeral loopback ports, prints their RTSP URLs as one JSON line, and stops when its
stdin closes.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

_CHILD = """
import asyncio, json, sys
from tests.simulator.rtsp.conftest import small_cameras
from vtrack.simulator.config import SimulatorConfig
from vtrack.simulator.runner import Simulator

async def main() -> None:
    nvr = sys.argv[1] == "nvr"
    cameras = small_cameras()[:2] if nvr else small_cameras()
    config = SimulatorConfig(cameras=cameras, host="127.0.0.1", onvif_port_base=0, rtsp_port=0, nvr=nvr)
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    site = {
        "rtsp": [camera.rtsp_url for camera in simulator.cameras()],
        "onvif": [device.port for device in simulator.devices.devices],
    }
    print(json.dumps(site), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await simulator.stop()

asyncio.run(main())
"""


@contextlib.contextmanager
def simulator_process(*, nvr: bool = False) -> Iterator[dict[str, list[Any]]]:
    """{"rtsp": RTSP URLs (no credentials; admin/admin123), "onvif": ONVIF ports} of small simulated
    cameras: three single cameras, or one NVR with two channels (and its 7-day recording archive)."""
    process = subprocess.Popen(  # noqa: S603  (this interpreter, a fixed script)
        [sys.executable, "-c", _CHILD, "nvr" if nvr else "cameras"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator child exited with {process.wait(10)}")
        yield dict(json.loads(line))
    finally:
        process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
