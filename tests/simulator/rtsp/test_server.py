"""The RTSP conversation itself: methods, SDP, sessions and their timeouts, fault switches, slow clients."""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.simulator.rtsp.client import RtspClient
from tests.simulator.rtsp.conftest import PASSWORD, USERNAME, small_cameras
from vtrack.simulator.config import CameraSpec, SimulatorConfig
from vtrack.simulator.rtsp import RtspServer
from vtrack.simulator.rtsp.session import LiveSession


@asynccontextmanager
async def running(session_timeout: float = 10.0, **options: Any) -> AsyncIterator[RtspServer]:
    server = RtspServer(
        SimulatorConfig(cameras=small_cameras(), rtsp_port=0), session_timeout=session_timeout, **options
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def server() -> AsyncIterator[RtspServer]:
    """A fresh server per test: tests here flip fault switches."""
    async with running() as server:
        yield server


@pytest.fixture
async def short_timeout_server() -> AsyncIterator[RtspServer]:
    async with running(session_timeout=1.0) as server:
        yield server


async def connect(
    server: RtspServer, channel: int = 1, *, replay: bool = False, password: str = PASSWORD
) -> RtspClient:
    client = RtspClient(server.url(server.config.cameras[channel - 1], replay=replay), USERNAME, password)
    await client.connect()
    return client


async def frames_received(client: RtspClient, seconds: float) -> list[float]:
    """Arrival times of the last packet of each access unit (marker bit) over `seconds`."""
    arrivals: list[float] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        packet = await client.read_rtp(limit=left)
        if packet is None:
            break
        if packet.marker:
            arrivals.append(time.monotonic())
    return arrivals


async def test_options_needs_no_credentials_and_lists_methods(server: RtspServer) -> None:
    client = await connect(server, password="")
    reply = await client.request("OPTIONS")
    await client.close()
    assert reply.status == 200
    assert {"DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER"} <= {
        m.strip() for m in reply.header("public").split(",")
    }


async def test_describe_returns_sdp_with_parameter_sets(server: RtspServer) -> None:
    bodies = {}
    for channel in (1, 2, 3):
        client = await connect(server, channel)
        reply = await client.request("DESCRIBE", headers={"Accept": "application/sdp"})
        await client.close()
        assert reply.status == 200 and reply.header("content-type") == "application/sdp"
        assert reply.header("content-base").endswith(f"/live/{channel}/")
        bodies[channel] = reply.body.decode()
    h264, h265, mpeg4 = bodies[1], bodies[2], bodies[3]
    assert "a=rtpmap:96 H264/90000" in h264
    sprop = re.search(r"sprop-parameter-sets=([^;,\s]+),([^;\s]+)", h264)
    assert sprop is not None and base64.b64decode(sprop.group(1))[0] & 0x1F == 7  # an SPS
    assert "packetization-mode=1" in h264 and "a=x-dimensions:640,360" in h264 and "a=framerate:15" in h264
    assert "a=rtpmap:96 H265/90000" in h265
    assert all(f"sprop-{name}=" in h265 for name in ("vps", "sps", "pps"))
    assert "a=rtpmap:96 MP4V-ES/90000" in mpeg4 and re.search(r"config=000001B0[0-9A-F]+", mpeg4)
    assert all("a=control:trackID=0" in body for body in bodies.values())


async def test_replay_sdp_advertises_the_recording_range(server: RtspServer) -> None:
    client = await connect(server, 1, replay=True)
    reply = await client.request("DESCRIBE")
    await client.close()
    match = re.search(r"a=range:clock=(\d{8}T\d{6})[.\d]*Z-(\d{8}T\d{6})", reply.body.decode())
    assert match is not None
    start, end = (time.mktime(time.strptime(g, "%Y%m%dT%H%M%S")) for g in match.groups())
    assert abs((end - start) - 7 * 86_400) <= 1


async def test_unknown_path_is_404_and_unknown_method_501(server: RtspServer) -> None:
    client = await connect(server)
    missing = await client.request(
        "DESCRIBE", url=server.url(server.config.cameras[0]).replace("/live/1", "/live/9")
    )
    unknown = await client.request("RECORD")
    await client.close()
    assert missing.status == 404 and unknown.status == 501


async def test_digest_with_wrong_password_is_401_with_a_fresh_challenge(server: RtspServer) -> None:
    client = await connect(server, password="wrong")
    reply = await client.request("DESCRIBE")
    await client.close()
    assert reply.status == 401
    assert re.match(
        r'Digest realm="[^"]+", nonce="[0-9a-f]+", algorithm=MD5, qop="auth"',
        reply.header("www-authenticate"),
    )


async def test_play_keepalive_and_teardown(short_timeout_server: RtspServer) -> None:
    server = short_timeout_server
    client = await connect(server, 3)
    play = await client.open_stream()
    assert play.status == 200 and "seq=" in play.header("rtp-info") and "rtptime=" in play.header("rtp-info")
    assert client.session and play.header("session").endswith(";timeout=1")
    for _ in range(4):  # GET_PARAMETER keeps the 1 s session alive past its timeout
        await asyncio.sleep(0.4)
        assert (await client.request("GET_PARAMETER")).status == 200
    assert client.session in server.sessions
    assert len(await frames_received(client, 0.5)) >= 4
    assert (await client.request("TEARDOWN")).status == 200
    assert client.session not in server.sessions
    assert (await client.request("PLAY")).status == 454
    await client.close()


async def test_silent_session_times_out_and_its_connection_closes(short_timeout_server: RtspServer) -> None:
    server = short_timeout_server
    client = await connect(server, 3)
    assert (await client.open_stream()).status == 200
    session = client.session
    assert client.reader is not None
    with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
        async with asyncio.timeout(5):
            while True:  # read (and ignore) RTP until the server hangs up
                await client.reader.readexactly(1)
    assert session not in server.sessions


async def test_stall_fault_pauses_the_stream_then_resumes(server: RtspServer) -> None:
    server.config.cameras[2].faults.stream_stall_seconds = 1.0
    client = await connect(server, 3)
    assert (await client.open_stream()).status == 200
    arrivals = await frames_received(client, 4.0)  # 1 s of video, 1 s stall, <= 1 s to a keyframe
    await client.close()
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    stall = max(gaps)
    assert stall >= 0.9, "no stall seen"
    assert arrivals[0] + 0.9 < arrivals[gaps.index(stall)] < arrivals[0] + 1.3  # after ~1 s of video
    assert arrivals[-1] - arrivals[gaps.index(stall) + 1] > 0.3, "the stream did not resume after the stall"


async def test_offline_camera_drops_connections_and_sessions(server: RtspServer) -> None:
    playing = await connect(server, 3)
    assert (await playing.open_stream()).status == 200
    server.config.cameras[2].faults.offline = True
    fresh = await connect(server, 3)
    with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
        await fresh.request("DESCRIBE")
    assert playing.reader is not None
    with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
        async with asyncio.timeout(3):
            while True:
                await playing.reader.readexactly(1)
    await fresh.close()
    await playing.close()
    other = await connect(server, 1)  # the other cameras are unaffected
    assert (await other.request("DESCRIBE")).status == 200
    await other.close()


async def test_wrong_password_fault_rejects_the_right_password(server: RtspServer) -> None:
    server.config.cameras[0].faults.wrong_password = True
    client = await connect(server, 1)
    assert (await client.request("DESCRIBE")).status == 401
    await client.close()


async def test_basic_auth_only_when_enabled() -> None:
    basic = {"Authorization": "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()}
    wrong = {"Authorization": "Basic " + base64.b64encode(b"admin:x").decode()}
    async with running(allow_basic=True) as server:
        client = RtspClient(server.url(server.config.cameras[2]))  # no username: never answers Digest
        await client.connect()
        ok = await client.request("DESCRIBE", headers=basic)
        bad = await client.request("DESCRIBE", headers=wrong)
        await client.close()
    async with running() as server:
        client = RtspClient(server.url(server.config.cameras[2]))
        await client.connect()
        refused = await client.request("DESCRIBE", headers=basic)
        await client.close()
    assert refused.status == 401 and refused.header("www-authenticate").startswith("Digest")
    assert ok.status == 200 and bad.status == 401


async def test_slow_client_loses_frames_without_stalling_others() -> None:
    """A client that stops reading is dropped to keyframes; a reading client keeps the full frame rate."""
    camera = CameraSpec(index=0, name="HD", width=1280, height=720, codec="h264", fps=15)
    server = RtspServer(
        SimulatorConfig(cameras=[camera], rtsp_port=0), max_backlog=16_384, send_buffer=16_384
    )
    await server.start()
    try:
        slow_sock = socket.socket()
        slow_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow_sock.connect((server.host, server.port))
        reader, writer = await asyncio.open_connection(sock=slow_sock)
        slow = RtspClient(server.url(camera), USERNAME, PASSWORD, reader=reader, writer=writer)
        assert (await slow.open_stream()).status == 200
        writer.transport.pause_reading()  # ... and never reads again
        fast = await connect(server, 1)
        assert (await fast.open_stream()).status == 200
        arrivals = await frames_received(fast, 3.0)
        slow_session = server.sessions[slow.session]
        assert isinstance(slow_session, LiveSession) and slow_session.sink is not None
        dropped = slow_session.sink.dropped
        octets, backlog = slow_session.sink.octets, slow_session.sink.sender.backlog()
        await fast.close()
        await slow.close()
    finally:
        await server.stop()
    assert len(arrivals) >= 15 * 3 * 0.9, f"fast client got {len(arrivals)} frames in 3 s at 15 fps"
    assert dropped > 0, (dropped, octets, backlog)


async def test_loop_mode_serves_the_pre_encoded_loop_without_an_encoder_thread() -> None:
    """live_mode="loop": the CPU-cheap option, the cached loop restamped in real time."""
    async with running(live_mode="loop") as server:
        client = await connect(server, 3)
        assert (await client.open_stream()).status == 200
        arrivals = await frames_received(client, 1.0)
        await client.close()
        assert not any(t.name.startswith("sim-encoder") for t in threading.enumerate())
    assert len(arrivals) >= 14  # 15 fps, starting at once from the cached GOP
