"""The simulator's RTSP server with one small camera per case: three codecs and three faults."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from vtrack.simulator.config import CameraSpec, Codec, Faults, SimulatorConfig
from vtrack.simulator.rtsp import RtspServer

USERNAME = "admin"
PASSWORD = "admin123"
FPS = 15


@dataclass(frozen=True)
class Cameras:
    server: RtspServer

    def url(self, channel: int) -> str:
        return self.server.url(self.server.config.cameras[channel - 1])

    def spec(self, channel: int) -> CameraSpec:
        return self.server.config.cameras[channel - 1]


H264, H265, MPEG4, OFFLINE, WRONG_PASSWORD, STALLING = 1, 2, 3, 4, 5, 6


def camera_spec(
    channel: int, codec: Codec, width: int, height: int, faults: Faults | None = None
) -> CameraSpec:
    return CameraSpec(
        index=channel - 1,
        name=f"Camera {channel}",
        width=width,
        height=height,
        codec=codec,
        fps=FPS,
        faults=faults or Faults(),
    )


@pytest.fixture(scope="package")
async def cameras() -> AsyncIterator[Cameras]:
    specs = [
        camera_spec(H264, "h264", 640, 360),
        camera_spec(H265, "h265", 480, 272),
        camera_spec(MPEG4, "mpeg4", 320, 240),
        camera_spec(OFFLINE, "h264", 320, 240, Faults(offline=True)),
        camera_spec(WRONG_PASSWORD, "h264", 320, 240, Faults(wrong_password=True)),
        # Every new session gets about a second of video, then nothing for a minute.
        camera_spec(STALLING, "h264", 320, 240, Faults(stream_stall_seconds=60)),
    ]
    server = RtspServer(
        SimulatorConfig(cameras=specs, host="127.0.0.1", rtsp_port=0, username=USERNAME, password=PASSWORD)
    )
    await server.start()
    yield Cameras(server)
    await server.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
