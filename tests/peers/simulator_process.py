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

_CHILD = """
import asyncio, json, sys
from tests.simulator.rtsp.conftest import small_cameras
from vtrack.simulator.config import SimulatorConfig
from vtrack.simulator.runner import Simulator

async def main() -> None:
    config = SimulatorConfig(cameras=small_cameras(), host="127.0.0.1", onvif_port_base=0, rtsp_port=0)
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    print(json.dumps([camera.rtsp_url for camera in simulator.cameras()]), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await simulator.stop()

asyncio.run(main())
"""


@contextlib.contextmanager
def simulator_process() -> Iterator[list[str]]:
    """RTSP URLs (no credentials; admin/admin123) of the three small simulated cameras."""
    process = subprocess.Popen(  # noqa: S603  (this interpreter, a fixed script)
        [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator child exited with {process.wait(10)}")
        yield list(json.loads(line))
    finally:
        process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
