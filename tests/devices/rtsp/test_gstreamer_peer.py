"""GStreamer's RTSP server, an implementation independent of ours and the simulator's, probed as a camera.

It runs as a subprocess of Debian's /usr/bin/python3 (which has gi; the project venv does not), started
from tests/peers/gst_rtsp_server.py: `videotestsrc ! x264enc ! rtph264pay`, open and behind Digest.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.peers.system_python import SYSTEM_PYTHON, system_python_peer
from vtrack.devices.rtsp import RtspAuthError, probe_stream

SERVER = Path(__file__).parents[2] / "peers" / "gst_rtsp_server.py"
USER, SECRET = "viewer", "s3cret:pass"


def _available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    check = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
        "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
        "assert all(Gst.ElementFactory.find(e) for e in ('videotestsrc', 'x264enc', 'rtph264pay'))"
    )
    return subprocess.run([SYSTEM_PYTHON, "-c", check], capture_output=True, timeout=30).returncode == 0


@dataclass(frozen=True)
class GstServer:
    open_url: str
    secure_url: str


@pytest.fixture(scope="module")
async def gst_server() -> AsyncIterator[GstServer]:
    if not _available():
        pytest.skip(
            "GStreamer's RTSP server with gi is not installed for /usr/bin/python3 (make setup installs it)"
        )
    async with system_python_peer(SERVER, "--user", USER, "--password", SECRET) as ports:
        yield GstServer(
            f"rtsp://127.0.0.1:{ports['port']}/stream", f"rtsp://127.0.0.1:{ports['secure_port']}/stream"
        )


async def test_probe_decodes_gstreamers_h264(gst_server: GstServer) -> None:
    probe = await probe_stream(gst_server.open_url, username=None, password=None, timeout=10.0)
    assert probe.codec == "H264" and (probe.width, probe.height) == (320, 240)
    assert probe.frame is not None and probe.frame.key_frame
    assert probe.fps is not None and 10 <= probe.fps <= 20


async def test_probe_answers_gstreamers_digest_challenge(gst_server: GstServer) -> None:
    probe = await probe_stream(
        gst_server.secure_url, username=USER, password=SECRET, timeout=10.0, decode=False
    )
    assert probe.codec == "H264" and probe.frames >= 2


@pytest.mark.parametrize("password", [None, "wrong"], ids=["no-credentials", "wrong-password"])
async def test_gstreamer_refuses_bad_credentials(gst_server: GstServer, password: str | None) -> None:
    username = USER if password else None
    with pytest.raises(RtspAuthError) as caught:
        await probe_stream(gst_server.secure_url, username=username, password=password, timeout=10.0)
    assert SECRET not in str(caught.value)
