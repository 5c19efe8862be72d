"""A simulated site on loopback for the live-channel tests, and SQLite (only) under the channel manager.

Small H.264 cameras at 15 fps keep the encoders to a few per cent of a core. The RTSP session timeout
is cut to 4 s so the simulator's reaper notices an `offline` camera within a second (it checks every
timeout/4) instead of five: tests wait for outages, so their length is the suite's length.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from vtrack.security.encryption import Keyring
from vtrack.simulator.config import CameraSpec, Faults, SimulatorConfig
from vtrack.simulator.runner import Simulator

CAMERAS = 3
FPS = 15


@pytest.fixture
def backend() -> str:
    """The manager's tests are about threads and streams; the database side runs on both elsewhere."""
    return "sqlite"


@pytest.fixture(scope="module")
async def simulator() -> AsyncIterator[Simulator]:
    cameras = [
        CameraSpec(index=i, name=f"Live {i + 1}", width=320, height=240, codec="h264", fps=FPS)
        for i in range(CAMERAS)
    ]
    config = SimulatorConfig(cameras=cameras, host="127.0.0.1", onvif_port_base=0, rtsp_port=0)
    sim = Simulator(config, discovery_port=None)
    sim.rtsp.session_timeout = 4.0
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def faults(simulator: Simulator) -> Iterator[list[Faults]]:
    """Each camera's fault switches, all off again after the test (in place: sessions hold the object)."""
    yield [camera.faults for camera in simulator.config.cameras]
    for camera in simulator.config.cameras:
        for field in dataclasses.fields(Faults):
            setattr(camera.faults, field.name, field.default)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(current=os.urandom(32))


async def wait_for(condition: Callable[[], bool], within: float, what: str, step: float = 0.05) -> float:
    """Poll `condition` without blocking the loop (the simulator runs on it); the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(step)
    return time.monotonic() - start
