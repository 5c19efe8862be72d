"""The probe and the client against the simulator's RTSP server: three codecs, its fault switches, replay."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.devices.rtsp.conftest import PASSWORD, USERNAME
from vtrack.devices.rtsp import (
    AccessUnit,
    RtcpPacket,
    RtpPacket,
    RtspAuthError,
    RtspClient,
    RtspStatusError,
    RtspTimeout,
    RtspUnreachable,
    depacketizer_for,
    probe_stream,
)
from vtrack.simulator.config import CameraSpec, SimulatorConfig
from vtrack.simulator.rtsp import RtspServer

CODECS = {"h264": "H264", "h265": "H265", "mpeg4": "MPEG4"}


@pytest.mark.parametrize("channel", [1, 2, 3], ids=["h264", "h265", "mpeg4"])
async def test_probe_decodes_the_first_keyframe_of_every_codec(simulator: RtspServer, channel: int) -> None:
    camera = simulator.config.cameras[channel - 1]
    probe = await probe_stream(simulator.url(camera), username=USERNAME, password=PASSWORD, timeout=5.0)
    assert probe.codec == CODECS[camera.codec]
    assert (probe.width, probe.height) == (camera.width, camera.height)
    assert probe.frame is not None and probe.frame.key_frame
    assert probe.frame.to_ndarray(format="rgb24").shape == (camera.height, camera.width, 3)
    assert 0 < probe.connect_ms <= probe.describe_ms + probe.connect_ms <= probe.first_frame_ms
    assert probe.frames >= 2 and probe.fps is not None


async def test_probe_measures_the_cameras_frame_rate(simulator: RtspServer) -> None:
    camera = simulator.config.cameras[2]
    probe = await probe_stream(
        simulator.url(camera),
        username=USERNAME,
        password=PASSWORD,
        timeout=5.0,
        sample_seconds=1.0,
        decode=False,
    )
    assert probe.fps is not None and abs(probe.fps - camera.fps) <= camera.fps * 0.25, probe
    assert probe.frame is None and probe.width is None


async def test_credentials_in_the_url_userinfo(simulator: RtspServer) -> None:
    url = simulator.url(simulator.config.cameras[2]).replace("rtsp://", f"rtsp://{USERNAME}:{PASSWORD}@")
    probe = await probe_stream(url, username=None, password=None, timeout=5.0, decode=False)
    assert probe.codec == "MPEG4"


async def test_wrong_password_is_an_auth_error_that_never_shows_the_password(
    simulator: RtspServer, faulty: CameraSpec
) -> None:
    faulty.faults.wrong_password = True
    with pytest.raises(RtspAuthError, match="refused the username or password") as caught:
        await probe_stream(simulator.url(faulty), username=USERNAME, password=PASSWORD, timeout=5.0)
    assert caught.value.kind == "auth" and PASSWORD not in str(caught.value)


async def test_no_credentials_is_an_auth_error(simulator: RtspServer) -> None:
    with pytest.raises(RtspAuthError, match="requires a username and password"):
        await probe_stream(
            simulator.url(simulator.config.cameras[0]), username=None, password=None, timeout=5.0
        )


async def test_offline_camera_is_unreachable(simulator: RtspServer, faulty: CameraSpec) -> None:
    faulty.faults.offline = True
    with pytest.raises(RtspUnreachable, match="closed the connection") as caught:
        await probe_stream(simulator.url(faulty), username=USERNAME, password=PASSWORD, timeout=5.0)
    assert caught.value.kind == "unreachable"


async def test_stalled_stream_times_out_within_the_timeout(simulator: RtspServer, faulty: CameraSpec) -> None:
    """The stall fault bites after 1 s of video; the probe's next read gives up after `timeout`."""
    faulty.faults.stream_stall_seconds = 5.0
    started = time.monotonic()
    with pytest.raises(RtspTimeout, match="stalled"):
        await probe_stream(
            simulator.url(faulty), username=USERNAME, password=PASSWORD, timeout=0.5, sample_seconds=3.0
        )
    assert time.monotonic() - started < 1.0 + 0.5 + 1.0


async def test_unknown_path_is_a_404_status_error(simulator: RtspServer) -> None:
    url = f"rtsp://{simulator.host}:{simulator.port}/live/99"
    with pytest.raises(RtspStatusError, match="no stream at /live/99") as caught:
        await probe_stream(url, username=USERNAME, password=PASSWORD, timeout=5.0)
    assert caught.value.status == 404 and caught.value.kind == "status"


async def test_client_session_lifecycle(simulator: RtspServer) -> None:
    camera = simulator.config.cameras[0]
    async with RtspClient(simulator.url(camera), username=USERNAME, password=PASSWORD, timeout=5.0) as client:
        options = await client.options()
        assert "GET_PARAMETER" in (options.header("Public") or "")
        sdp = await client.describe()
        track = sdp.video()
        assert track is not None and track.control.endswith("/live/1/trackID=0")
        channels = await client.setup(track)
        assert (channels.rtp, channels.rtcp) == (0, 1)
        assert client.session_id and client.session_timeout == 60.0
        played = await client.play()
        assert "seq=" in (played.header("RTP-Info") or "")
        depacketizer = depacketizer_for(track)
        units: list[AccessUnit] = []
        async for packet in client.packets():
            if isinstance(packet, RtpPacket):
                units += depacketizer.push(packet)
            if len(units) >= 3:
                break
        assert units[0].keyframe and depacketizer.lost_packets == 0
        await client.teardown()
        assert client.session_id is None
    assert not simulator.sessions


async def test_keepalive_holds_a_session_past_its_timeout() -> None:
    """With a 2 s session timeout and no RTCP from us, only the keep-alives keep the stream coming."""
    camera = CameraSpec(index=0, name="k", width=160, height=120, codec="mpeg4", fps=10)
    server = RtspServer(SimulatorConfig(cameras=[camera], host="127.0.0.1", rtsp_port=0), session_timeout=2.0)
    await server.start()
    try:
        async with RtspClient(
            server.url(camera), username=USERNAME, password=PASSWORD, timeout=2.0
        ) as client:
            track = (await client.describe()).video()
            assert track is not None
            await client.setup(track)
            assert client.session_timeout == 2.0
            await client.play()
            started = time.monotonic()
            async for _packet in client.packets():
                if time.monotonic() - started > 3.5:
                    break
    finally:
        await server.stop()


async def test_onvif_replay_headers_extension_per_unit_and_bye(simulator: RtspServer) -> None:
    """What Step 4 builds on: extra PLAY headers, the 0xABAC extension on each unit, RTCP BYE ends it."""
    camera = simulator.config.cameras[0]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30)
    end = start + timedelta(seconds=2)
    clock = f"clock={start:%Y%m%dT%H%M%SZ}-{end:%Y%m%dT%H%M%SZ}"
    url = simulator.url(camera, replay=True)
    async with RtspClient(url, username=USERNAME, password=PASSWORD, timeout=5.0) as client:
        sdp = await client.describe()
        assert sdp.range is not None and sdp.range.startswith("clock=")
        track = sdp.video()
        assert track is not None
        await client.setup(track)
        await client.play(range_header=clock, headers={"Require": "onvif-replay", "Rate-Control": "no"})
        depacketizer = depacketizer_for(track)
        units: list[AccessUnit] = []
        last = None
        async for packet in client.packets():  # ends by itself on the BYE
            if isinstance(packet, RtpPacket):
                units += depacketizer.push(packet)
            last = packet
    assert isinstance(last, RtcpPacket) and last.is_bye
    assert units and all(unit.extension is not None and unit.extension[:2] == b"\xab\xac" for unit in units)
    assert units[0].keyframe
    assert camera.fps * 1 <= len(units) <= camera.fps * 2 + 1
