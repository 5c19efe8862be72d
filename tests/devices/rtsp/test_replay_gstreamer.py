"""`replay_range` against GStreamer's ONVIF RTSP server: an independent implementation of Profile G replay.

The server (tests/peers/gst_onvif_server.py) runs under Debian's /usr/bin/python3 with gi and serves a
clock-addressable test pattern whose timestamps are NTP time, stamped by GStreamer's rtponviftimestamp.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.peers.system_python import SYSTEM_PYTHON, system_python_peer
from vtrack.devices.rtsp.replay import replay_range
from vtrack.media.remux import write_replay_mp4
from vtrack.media.verify import verify_media

SERVER = Path(__file__).parents[2] / "peers" / "gst_onvif_server.py"
FPS = 15


def _available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    check = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
        "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
        "assert all(Gst.ElementFactory.find(e) for e in "
        "('videotestsrc', 'x264enc', 'h264parse', 'rtph264pay', 'rtponviftimestamp'))"
    )
    return subprocess.run([SYSTEM_PYTHON, "-c", check], capture_output=True, timeout=30).returncode == 0


@pytest.fixture(scope="module")
async def onvif_url() -> AsyncIterator[str]:
    if not _available():
        pytest.skip(
            "GStreamer's RTSP server, rtponviftimestamp and gi are not installed for /usr/bin/python3"
        )
    async with system_python_peer(SERVER, "--fps", str(FPS)) as ports:
        yield f"rtsp://127.0.0.1:{ports['port']}/replay"


async def test_a_clock_range_replays_with_its_times(onvif_url: str) -> None:
    start = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    end = start + timedelta(seconds=10)
    units = [
        unit
        async for unit in replay_range(
            onvif_url, username=None, password=None, start=start, end=end, timeout=10.0
        )
    ]
    assert len(units) == 10 * FPS
    assert units[0].keyframe and units[0].codec == "H264" and units[0].parameter_sets
    assert all(unit.stamped for unit in units)  # from GStreamer's 0xABAC extension
    frame = timedelta(seconds=1 / FPS)
    assert units[0].time == start
    assert abs(units[-1].time - (end - frame)) < timedelta(milliseconds=1)
    assert all(timedelta(0) < b.time - a.time < frame * 1.01 for a, b in zip(units, units[1:], strict=False))


async def test_another_day_downloads_and_verifies(onvif_url: str, tmp_path: Path) -> None:
    start = datetime(2025, 12, 31, 23, 59, 55, tzinfo=UTC)  # across midnight and the year
    end = start + timedelta(seconds=8)
    dest = tmp_path / "gst.mp4.part"
    units = replay_range(onvif_url, username=None, password=None, start=start, end=end, timeout=10.0)
    written = await write_replay_mp4(units, dest)
    assert (written.first, written.frames, written.codec) == (start, 8 * FPS, "H264")
    check = verify_media(dest, expect_start=start, expect_end=end, tolerance=timedelta(seconds=1))
    assert check.ok, check.problem
    assert check.duration == timedelta(seconds=8)
