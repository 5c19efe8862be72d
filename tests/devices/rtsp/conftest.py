"""The simulator's RTSP server with the three small test cameras plus one whose faults tests switch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.simulator.rtsp.conftest import PASSWORD, USERNAME, small_cameras
from vtrack.simulator.config import CameraSpec, Faults, SimulatorConfig
from vtrack.simulator.rtsp import RtspServer

__all__ = ["PASSWORD", "USERNAME"]


@pytest.fixture(scope="module")
async def simulator() -> AsyncIterator[RtspServer]:
    """Channels 1-3: H.264 640x360, H.265 480x272, MPEG-4 320x240 at 15 fps; channel 4: the faulty one."""
    faulty = CameraSpec(index=3, name="Faulty", width=320, height=240, codec="mpeg4", fps=15)
    server = RtspServer(SimulatorConfig(cameras=[*small_cameras(), faulty], host="127.0.0.1", rtsp_port=0))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def faulty(simulator: RtspServer) -> Iterator[CameraSpec]:
    """Channel 4, with its faults cleared again after the test."""
    camera = simulator.config.cameras[3]
    yield camera
    camera.faults = Faults()
