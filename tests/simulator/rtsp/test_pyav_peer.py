"""FFmpeg (through PyAV) is an independent RTSP client: it must open and decode every camera.

PyAV blocks, so each client runs in a worker thread while the server runs on the test's event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import av
import pytest

from tests.shared_data import PEOPLE_VIDEO
from tests.simulator.rtsp.conftest import PASSWORD, USERNAME, with_credentials
from vtrack.simulator.config import CameraSpec, SimulatorConfig
from vtrack.simulator.rtsp import RtspServer

DEMO_VIDEO = PEOPLE_VIDEO
CODEC_NAMES = {"h264": "h264", "h265": "hevc", "mpeg4": "mpeg4"}


@dataclass
class Decoded:
    codec: str
    width: int
    height: int
    frames: int


def decode(url: str, frames: int = 10, transport: str = "tcp") -> Decoded:
    options = {"rtsp_transport": transport, "timeout": "5000000", "analyzeduration": "1000000"}
    with av.open(url, options=options, timeout=10) as container:
        stream = container.streams.video[0]
        count = 0
        width = height = 0
        for frame in container.decode(stream):
            count += 1
            width, height = frame.width, frame.height
            if count >= frames:
                break
        return Decoded(stream.codec_context.name, width, height, count)


@pytest.mark.parametrize("channel", [1, 2, 3], ids=["h264-1080p", "h265-720p", "mpeg4-800x600"])
async def test_ffmpeg_decodes_live_over_tcp(rtsp_server: RtspServer, channel: int) -> None:
    camera = rtsp_server.config.cameras[channel - 1]
    url = with_credentials(rtsp_server.url(camera))
    decoded = await asyncio.wait_for(asyncio.to_thread(decode, url), 30)
    assert decoded == Decoded(CODEC_NAMES[camera.codec], camera.width, camera.height, 10)


@pytest.mark.parametrize("channel", [1, 2, 3], ids=["h264", "h265", "mpeg4"])
async def test_ffmpeg_decodes_live_over_udp(rtsp_server: RtspServer, channel: int) -> None:
    camera = rtsp_server.config.cameras[channel - 1]
    url = with_credentials(rtsp_server.url(camera))
    decoded = await asyncio.wait_for(asyncio.to_thread(decode, url, 5, "udp"), 30)
    assert (decoded.codec, decoded.width, decoded.height) == (
        CODEC_NAMES[camera.codec],
        camera.width,
        camera.height,
    )


async def test_ffmpeg_with_wrong_password_gets_401(rtsp_server: RtspServer) -> None:
    url = with_credentials(rtsp_server.url(rtsp_server.config.cameras[2]), USERNAME, PASSWORD + "x")
    with pytest.raises(av.error.HTTPUnauthorizedError):
        await asyncio.wait_for(asyncio.to_thread(decode, url), 30)


async def test_ffmpeg_without_credentials_gets_401(rtsp_server: RtspServer) -> None:
    with pytest.raises(av.error.HTTPUnauthorizedError):
        await asyncio.wait_for(asyncio.to_thread(decode, rtsp_server.url(rtsp_server.config.cameras[2])), 30)


@pytest.mark.skipif(not DEMO_VIDEO.exists(), reason=f"demo video {DEMO_VIDEO} is not on this machine")
async def test_ffmpeg_decodes_the_looped_video_file() -> None:
    camera = CameraSpec(index=0, name="File Camera", width=1920, height=1080, codec="h264")
    config = SimulatorConfig(cameras=[camera], rtsp_port=0, video=DEMO_VIDEO)
    server = RtspServer(config)
    await server.start()
    try:
        decoded = await asyncio.wait_for(
            asyncio.to_thread(decode, with_credentials(server.url(camera)), 10), 30
        )
    finally:
        await server.stop()
    # The file's own size and codec, not the camera spec's: it is served as it is, not re-encoded.
    assert decoded == Decoded("h264", 1280, 720, 10)
