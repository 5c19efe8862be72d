"""A running simulator RTSP server on a free loopback port, shared by a test module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from vtrack.simulator.config import CameraSpec, SimulatorConfig, default_cameras
from vtrack.simulator.rtsp import RtspServer

USERNAME = "admin"
PASSWORD = "admin123"


def with_credentials(url: str, username: str = USERNAME, password: str = PASSWORD) -> str:
    return url.replace("rtsp://", f"rtsp://{username}:{password}@", 1)


def small_cameras() -> list[CameraSpec]:
    """The three default codecs at a size that keeps the suite fast on two cores."""
    return [
        CameraSpec(index=c.index, name=c.name, width=w, height=h, codec=c.codec, fps=15)
        for c, (w, h) in zip(default_cameras(3), [(640, 360), (480, 272), (320, 240)], strict=True)
    ]


@pytest.fixture(scope="module")
async def rtsp_server() -> AsyncIterator[RtspServer]:
    """The three seed cameras at their real sizes (1080p H.264, 720p H.265, 800x600 MPEG-4)."""
    config = SimulatorConfig(cameras=default_cameras(3), host="127.0.0.1", rtsp_port=0)
    server = RtspServer(config)
    await server.start()
    yield server
    await server.stop()
