"""ONVIF replay: a clock range comes back stamped with recording times, fast when asked, complete."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import av
import pytest

from tests.simulator.media.glyphs import frame_counter
from tests.simulator.rtsp.client import RtpPacket, RtspClient
from tests.simulator.rtsp.conftest import PASSWORD, USERNAME, small_cameras
from tests.simulator.rtsp.depacketize import h264_units
from vtrack.simulator.config import SimulatorConfig
from vtrack.simulator.rtsp import RtspServer

NTP_UNIX = 2_208_988_800


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[RtspServer]:
    config = SimulatorConfig(cameras=small_cameras(), rtsp_port=0)
    server = RtspServer(config)
    await server.start()
    yield server
    await server.stop()


def clock(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%S") + f".{when.microsecond // 1000:03d}Z"


def ntp_seconds(packet: RtpPacket) -> float:
    (ntp,) = struct.unpack_from("!Q", packet.extension)
    return (ntp >> 32) - NTP_UNIX + (ntp & 0xFFFFFFFF) / 2**32


async def collect(client: RtspClient, limit: float = 20.0) -> list[RtpPacket]:
    """RTP packets until the server's terminal (T) flag, the RTCP BYE, or `limit` seconds."""
    packets: list[RtpPacket] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        packet = await client.read_rtp(limit=2.0)
        if packet is None:
            break
        packets.append(packet)
        if packet.extension_id == 0xABAC and packet.extension[8] & 0x10:
            break
    return packets


async def replay(
    server: RtspServer, channel: int, start: datetime, end: datetime, rate_control: str
) -> tuple[list[RtpPacket], float, RtspClient]:
    url = server.url(server.config.cameras[channel - 1], replay=True)
    client = RtspClient(url, USERNAME, PASSWORD)
    await client.connect()
    headers = {
        "Require": "onvif-replay",
        "Range": f"clock={clock(start)}-{clock(end)}",
        "Rate-Control": rate_control,
    }
    began = time.monotonic()
    reply = await client.open_stream(headers)
    assert reply.status == 200, reply
    assert reply.header("range").startswith("clock=")
    packets = await collect(client)
    return packets, time.monotonic() - began, client


async def test_fast_replay_stamps_every_frame_inside_the_range(server: RtspServer) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2, hours=3)
    end = start + timedelta(seconds=20)
    packets, elapsed, client = await replay(server, 1, start, end, "no")
    await client.close()
    first_packets = [p for i, p in enumerate(packets) if i == 0 or packets[i - 1].marker]
    stamps = [ntp_seconds(p) for p in first_packets]
    assert all(p.extension_id == 0xABAC for p in first_packets)  # on the first packet of every frame
    assert all(start.timestamp() <= t <= end.timestamp() for t in stamps)
    # 15 fps for ~20 s, starting on the first keyframe at or after START (keyframe each second).
    assert 15 * 19 <= len(stamps) <= 15 * 20 + 1
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] >= 19
    assert first_packets[0].extension[8] & 0xA0 == 0xA0  # C (clean point) and D (new position)
    assert packets[-1].extension[8] & 0x50 == 0x50  # E and T on the very last packet
    assert elapsed < 20 / 10, f"20 s of recording took {elapsed:.2f} s: not much faster than real time"
    # RTP timestamps follow recording time (90 kHz) so the client's clock and the NTP stamps agree.
    rtp_span = (first_packets[-1].timestamp - first_packets[0].timestamp) % 2**32 / 90_000
    assert abs(rtp_span - (stamps[-1] - stamps[0])) < 0.001


async def test_replayed_frames_decode_and_show_the_promised_loop_frame(server: RtspServer) -> None:
    """A client can verify the download: frame at time T shows loop frame (T / frame time) mod loop."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    end = start + timedelta(seconds=2)
    packets, _, client = await replay(server, 1, start, end, "no")
    await client.close()
    frames: list[tuple[float, bytes]] = []
    current: list[bytes] = []
    stamp = 0.0
    for packet in packets:
        if not current:
            stamp = ntp_seconds(packet)
        current.append(packet.payload)
        if packet.marker:
            frames.append((stamp, b"".join(b"\x00\x00\x00\x01" + n for n in h264_units(current))))
            current = []
    decoder = av.CodecContext.create("h264", "r")
    decoded = []
    for _, data in frames:
        decoded.extend(decoder.decode(av.Packet(data)))
    decoded.extend(decoder.decode(None))
    assert len(decoded) == len(frames) and decoded[0].width == 640
    loop_frames = 4 * 15  # the default 4 s loop at 15 fps
    for (stamp, _), frame in list(zip(frames, decoded, strict=True))[:: len(frames) // 4]:
        expected_index = round(stamp * 15) % loop_frames
        assert frame_counter(frame.to_ndarray(format="gray")) == expected_index


async def test_rate_controlled_replay_runs_in_real_time(server: RtspServer) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    packets, elapsed, client = await replay(server, 3, start, start + timedelta(seconds=2), "yes")
    await client.close()
    stamps = [ntp_seconds(p) for p in packets if p.extension_id == 0xABAC]
    span = stamps[-1] - stamps[0]
    assert span > 0.9 and elapsed >= span * 0.9, (span, elapsed)


async def test_pause_and_resume_continue_where_replay_stopped(server: RtspServer) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    url = server.url(server.config.cameras[2], replay=True)
    client = RtspClient(url, USERNAME, PASSWORD)
    await client.connect()
    headers = {
        "Require": "onvif-replay",
        "Range": f"clock={clock(start)}-{clock(start + timedelta(seconds=30))}",
    }
    assert (await client.open_stream(headers)).status == 200
    before = [await client.read_rtp(2.0) for _ in range(20)]
    assert (await client.request("PAUSE")).status == 200
    await asyncio.sleep(0.3)
    while (late := await client.read_rtp(0.3)) is not None:  # what was already on its way
        before.append(late)
    resumed = await client.request("PLAY", headers={"Require": "onvif-replay"})
    assert resumed.status == 200
    after = await client.read_rtp(2.0)
    await client.request("TEARDOWN")
    await client.close()
    received = [p for p in before if p is not None]
    stamps = [ntp_seconds(p) for p in received if p.extension_id == 0xABAC]
    assert after is not None and after.extension_id == 0xABAC and received[-1].marker
    # Exactly the next frame (15 fps), and the next sequence number: nothing skipped, nothing repeated.
    assert abs(ntp_seconds(after) - stamps[-1] - 1 / 15) < 0.002
    assert after.seq == (received[-1].seq + 1) % 65536
    assert after.extension[8] & 0x20  # D: a new PLAY


async def test_range_outside_the_recording_is_refused(server: RtspServer) -> None:
    url = server.url(server.config.cameras[0], replay=True)
    client = RtspClient(url, USERNAME, PASSWORD)
    await client.connect()
    future = datetime.now(UTC) + timedelta(days=1)
    headers = {
        "Require": "onvif-replay",
        "Range": f"clock={clock(future)}-{clock(future + timedelta(seconds=5))}",
    }
    reply = await client.open_stream(headers)
    await client.close()
    assert reply.status == 457


async def test_unknown_require_tag_is_refused(server: RtspServer) -> None:
    client = RtspClient(server.url(server.config.cameras[0], replay=True), USERNAME, PASSWORD)
    await client.connect()
    reply = await client.open_stream({"Require": "onvif-replay, com.example.teleport"})
    await client.close()
    assert reply.status == 551 and reply.header("unsupported") == "com.example.teleport"


async def test_play_reply_range_starts_at_the_first_frame_and_leaves_the_end_open(server: RtspServer) -> None:
    """`Range: clock=FIRST-`: the end of a replay is signalled in-band (E/T flags, then RTCP BYE), never as
    an end time. Given one, GStreamer's rtspsrc sets an npt-stop on its jitterbuffer, which then arms an
    estimated-EOS timer while draining; when a fast replay has arrived whole before that, the EOS from
    the BYE waits on that timer forever and rtspsrc never posts EOS (the old flaky MPEG-4 replay)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1, hours=5)
    url = server.url(server.config.cameras[2], replay=True)
    client = RtspClient(url, USERNAME, PASSWORD)
    await client.connect()
    headers = {
        "Require": "onvif-replay",
        "Range": f"clock={clock(start)}-{clock(start + timedelta(seconds=3))}",
        "Rate-Control": "no",
    }
    reply = await client.open_stream(headers)
    packets = await collect(client)
    await client.close()
    assert reply.status == 200, reply
    value = reply.header("range")
    assert value.startswith("clock=") and value.endswith("-"), value
    first = datetime.fromisoformat(value[len("clock=") : -1])  # 20261120T080000[.5]Z, ISO 8601 basic
    assert abs(first.timestamp() - ntp_seconds(packets[0])) < 0.001
    assert packets[-1].extension[8] & 0x50 == 0x50  # the end still comes in-band: E and T on the last packet
