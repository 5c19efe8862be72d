"""GStreamer's rtspsrc, a second independent client, plays every camera and is refused without credentials.

It runs as a subprocess of Debian's /usr/bin/python3 (which has gi; the project venv does not), reporting
one JSON line from tests/simulator/rtsp/gst_client.py. Replay is checked both ways: plain rtspsrc with the
ONVIF headers added, and rtspsrc's own onvif-mode (the range as a TIME seek on the NTP-epoch clock).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.simulator.rtsp.conftest import PASSWORD, USERNAME
from vtrack.simulator.rtsp import RtspServer

SYSTEM_PYTHON = "/usr/bin/python3"
CLIENT = Path(__file__).with_name("gst_client.py")


def _gstreamer_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; Gst.init(None); "
        "assert Gst.ElementFactory.find('rtspsrc') and Gst.ElementFactory.find('avdec_h264')"
    )
    return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=30).returncode == 0


@pytest.fixture(scope="module", autouse=True)
def _needs_gstreamer() -> None:
    if not _gstreamer_available():
        pytest.skip("GStreamer with gi is not installed for /usr/bin/python3 (make setup installs it)")


async def run_replay(url: str, clock_range: str, *args: str) -> dict[str, Any]:
    """The GStreamer client reading a whole replay range (no buffer cap) as the test user."""
    return await run_client(
        url,
        "--user",
        USERNAME,
        "--password",
        PASSWORD,
        "--buffers",
        "100000",
        "--replay-range",
        clock_range,
        *args,
    )


async def run_client(url: str, *args: str, limit: float = 30.0) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        SYSTEM_PYTHON,
        str(CLIENT),
        url,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, stderr.decode()[-2000:]
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("channel", [1, 2, 3], ids=["h264-1080p", "h265-720p", "mpeg4-800x600"])
async def test_rtspsrc_plays_live(rtsp_server: RtspServer, channel: int) -> None:
    camera = rtsp_server.config.cameras[channel - 1]
    result = await run_client(
        rtsp_server.url(camera), "--user", USERNAME, "--password", PASSWORD, "--buffers", "10"
    )
    assert result["error"] is None and result["playing"], result
    assert result["buffers"] >= 10
    assert f"width=(int){camera.width}, height=(int){camera.height}" in result["caps"]


async def test_rtspsrc_plays_live_over_udp(rtsp_server: RtspServer) -> None:
    camera = rtsp_server.config.cameras[2]
    result = await run_client(
        rtsp_server.url(camera),
        "--user",
        USERNAME,
        "--password",
        PASSWORD,
        "--buffers",
        "5",
        "--protocols",
        "udp",
    )
    assert result["error"] is None and result["playing"] and result["buffers"] >= 5, result


async def test_rtspsrc_is_refused_with_the_wrong_password(rtsp_server: RtspServer) -> None:
    result = await run_client(
        rtsp_server.url(rtsp_server.config.cameras[2]), "--user", USERNAME, "--password", "nope"
    )
    assert not result["playing"] and result["buffers"] == 0
    assert "Unauthorized" in result["error"]


async def test_rtspsrc_decodes_a_replayed_clock_range_fast(rtsp_server: RtspServer) -> None:
    """ONVIF replay headers on PLAY: 20 s of recording arrive, decode and end (EOS) well inside 20 s."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30)
    end = start + timedelta(seconds=20)
    clock = f"{start:%Y%m%dT%H%M%SZ}-{end:%Y%m%dT%H%M%SZ}"
    camera = rtsp_server.config.cameras[2]
    result = await run_replay(
        rtsp_server.url(camera, replay=True),
        clock,
    )
    assert result["error"] is None and result["eos"], result
    # 25 fps from the first keyframe at or after START (one per second) to END.
    assert 19 * 25 <= result["buffers"] <= 20 * 25 + 1
    assert result["seconds"] < 5
    assert f"width=(int){camera.width}, height=(int){camera.height}" in result["caps"]


NTP_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("channel", [1, 3], ids=["h264-1080p", "mpeg4-800x600"])
async def test_rtspsrc_onvif_mode_replays_a_clock_range(rtsp_server: RtspServer, channel: int) -> None:
    """rtspsrc's own ONVIF client (onvif-mode=true, onvif-rate-control=false, the range as a TIME seek on
    the NTP-epoch clock): PLAYING, exactly the range's frames with PTS inside it, then EOS."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30)
    end = start + timedelta(seconds=20)
    camera = rtsp_server.config.cameras[channel - 1]
    result = await run_replay(
        rtsp_server.url(camera, replay=True),
        f"{start:%Y%m%dT%H%M%SZ}-{end:%Y%m%dT%H%M%SZ}",
        "--onvif-mode",
        "--timeout",
        "20",
    )
    assert result["error"] is None and result["playing"] and result["eos"], result
    assert 19 * camera.fps <= result["buffers"] <= 20 * camera.fps + 1, result
    first_ns = (start - NTP_EPOCH) // timedelta(microseconds=1) * 1000
    last_ns = (end - NTP_EPOCH) // timedelta(microseconds=1) * 1000
    assert first_ns <= result["first_pts"] <= first_ns + 1_000_000_000, result  # first keyframe >= START
    assert result["first_pts"] < result["last_pts"] <= last_ns, result
    assert f"width=(int){camera.width}, height=(int){camera.height}" in result["caps"]
