"""Stream URLs as clients write them: the simulator's own, Hikvision's and Dahua's, and the sub streams.

FFmpeg (PyAV) is the independent client for the end-to-end checks; route resolution itself is checked
with the URL shapes FFmpeg and GStreamer build from a Content-Base that carries a query.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tests.simulator.rtsp.conftest import with_credentials
from tests.simulator.rtsp.test_pyav_peer import Decoded, decode
from vtrack.simulator.config import CameraSpec, Persona, SimulatorConfig
from vtrack.simulator.media.sources import build_camera_media
from vtrack.simulator.rtsp import RtspServer
from vtrack.simulator.rtsp.routes import build_routes


def two_cameras() -> list[CameraSpec]:
    return [
        CameraSpec(index=0, name="Gate", width=1280, height=720, codec="h265", fps=15),
        CameraSpec(index=1, name="Yard", width=320, height=240, codec="h264", fps=15),
    ]


def resolved(persona: Persona, url: str) -> tuple[str, int, str] | None:
    """(kind, channel, stream) the URL names on a fresh two-camera site of `persona`, or None."""
    config = SimulatorConfig(cameras=two_cameras(), persona=persona)
    routes = build_routes(config, build_camera_media(config), build_camera_media(config, stream="sub"))
    target = routes.resolve(url)
    if target is None:
        return None
    kind, media = target
    return kind, media.camera.channel, media.stream


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://127.0.0.1:8554/live/1", ("live", 1, "main")),
        ("rtsp://127.0.0.1:8554/live/2/", ("live", 2, "main")),
        ("rtsp://127.0.0.1:8554/live/1/trackID=0", ("live", 1, "main")),
        ("rtsp://127.0.0.1:8554/live/1/sub", ("live", 1, "sub")),
        ("rtsp://127.0.0.1:8554/live/1/sub/trackID=0", ("live", 1, "sub")),
        ("/replay/2", ("replay", 2, "main")),
        ("rtsp://127.0.0.1:8554/live/3", None),
        ("rtsp://127.0.0.1:8554/replay/1/sub", None),
        ("rtsp://127.0.0.1:8554/Streaming/Channels/101", None),  # vendor paths only with a persona
    ],
)
def test_own_paths(url: str, expected: tuple[str, int, str] | None) -> None:
    assert resolved("onvif", url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://127.0.0.1:554/Streaming/Channels/101", ("live", 1, "main")),
        ("rtsp://127.0.0.1:554/Streaming/Channels/102", ("live", 1, "sub")),
        ("rtsp://127.0.0.1:554/streaming/channels/201/", ("live", 2, "main")),
        ("rtsp://127.0.0.1:554/Streaming/Channels/202?transportmode=unicast", ("live", 2, "sub")),
        ("rtsp://127.0.0.1:554/Streaming/Channels/101?transportmode=unicast/trackID=0", ("live", 1, "main")),
        ("rtsp://127.0.0.1:554/Streaming/Channels/101/trackID=0", ("live", 1, "main")),
        ("rtsp://127.0.0.1:554/live/1/sub", ("live", 1, "sub")),
        ("rtsp://127.0.0.1:554/Streaming/Channels/103", None),
        ("rtsp://127.0.0.1:554/Streaming/Channels/301", None),
        ("rtsp://127.0.0.1:554/cam/realmonitor?channel=1&subtype=0", None),
    ],
)
def test_hikvision_paths(url: str, expected: tuple[str, int, str] | None) -> None:
    assert resolved("hikvision", url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://127.0.0.1:554/cam/realmonitor?channel=1&subtype=0", ("live", 1, "main")),
        ("rtsp://127.0.0.1:554/cam/realmonitor?channel=2&subtype=1", ("live", 2, "sub")),
        (
            "rtsp://127.0.0.1:554/cam/realmonitor?subtype=1&channel=1&unicast=true&proto=Onvif",
            ("live", 1, "sub"),
        ),
        ("rtsp://127.0.0.1:554/cam/realmonitor?channel=2", ("live", 2, "main")),
        # FFmpeg appends the track after the query, GStreamer puts it before.
        ("rtsp://127.0.0.1:554/cam/realmonitor?channel=1&subtype=1/trackID=0", ("live", 1, "sub")),
        ("rtsp://127.0.0.1:554/cam/realmonitor/trackID=0?channel=2&subtype=0", ("live", 2, "main")),
        ("rtsp://127.0.0.1:554/cam/realmonitor?channel=1&subtype=2", None),
        ("rtsp://127.0.0.1:554/cam/realmonitor?channel=3&subtype=0", None),
        ("rtsp://127.0.0.1:554/cam/realmonitor?channel=one", None),
        ("rtsp://127.0.0.1:554/cam/realmonitor", None),
        ("rtsp://127.0.0.1:554/Streaming/Channels/101", None),
    ],
)
def test_dahua_paths(url: str, expected: tuple[str, int, str] | None) -> None:
    assert resolved("dahua", url) == expected


@asynccontextmanager
async def running(persona: Persona) -> AsyncIterator[RtspServer]:
    server = RtspServer(SimulatorConfig(cameras=two_cameras(), rtsp_port=0, persona=persona))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_sub_streams_are_smaller_h264_and_only_encoded_while_watched() -> None:
    async with running("hikvision") as server:
        feeds = [media.live for media in [*server.sources.values(), *server.sub_sources.values()]]
        assert len(feeds) == 4 and not any(feed.running for feed in feeds)  # idle: nothing encodes
        base = f"rtsp://{server.host}:{server.port}"
        for path in ("/Streaming/Channels/102", "/live/1/sub"):
            decoded = await asyncio.wait_for(asyncio.to_thread(decode, with_credentials(base + path), 3), 30)
            assert decoded == Decoded("h264", 640, 360, 3)  # the camera's main stream is 720p H.265
        assert server.sub_sources[1].live.running and not server.sources[1].live.running
        yard = await asyncio.wait_for(
            asyncio.to_thread(decode, with_credentials(f"{base}/Streaming/Channels/201"), 3), 30
        )
        assert yard == Decoded("h264", 320, 240, 3)


async def test_ffmpeg_opens_dahua_realmonitor_urls() -> None:
    async with running("dahua") as server:
        url = f"rtsp://{server.host}:{server.port}/cam/realmonitor?channel=1&subtype=1"
        decoded = await asyncio.wait_for(asyncio.to_thread(decode, with_credentials(url), 3), 30)
        assert decoded == Decoded("h264", 640, 360, 3)
