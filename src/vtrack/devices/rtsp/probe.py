"""One look at a camera's stream: can we connect, log in, get a keyframe, and how fast does video come?

Health checks run this for up to 1,000 cameras a minute, so it does only what the answer needs: one
RTSP session over one TCP connection, RTP collected for `sample_seconds` after the first keyframe, and
(for snapshots and the picture size) that keyframe alone decoded by a bare codec context, with no
container and no probing, in a worker thread so the event loop keeps serving the other checks.

fps comes from the frames received over the sample window. Cameras (and the simulator) often send the
frames since the last keyframe in one burst when a viewer joins, so arrival times alone would read a
burst of ten frames as hundreds per second; the window's span is therefore the larger of the arrival
span and the RTP timestamp span, which is right for both a burst and a camera whose clock is wrong.

Cost of decoding the first keyframe, `decode_keyframe` alone on one core (PyAV 18.1, thread_count=1;
FFmpeg's automatic threads were slower for a single picture), median of 20 on a shared 2-core VM:

    picture                  simulator test pattern     textured picture (camera-like keyframe)
    1920x1080 H.264          28 KiB   1.2 ms            63 KiB  13 ms   260 KiB  33 ms
    1280x720  H.265          22 KiB   3.0 ms            28 KiB   8 ms   119 KiB  23 ms
    800x600   MPEG-4         21 KiB   0.9 ms            77 KiB   2 ms

The cost follows the keyframe's size, so budget with the right-hand columns: 1,000 checks a minute of
1080p H.264 cameras spend about half a core decoding. `decode=False` skips it (no size, no snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Literal

import av
import av.error

from vtrack.devices.rtsp.client import RtspClient
from vtrack.devices.rtsp.depacketize import AccessUnit, Depacketizer, depacketizer_for
from vtrack.devices.rtsp.errors import RtspProtocolError, RtspTimeout, UnsupportedCodec
from vtrack.devices.rtsp.rtp import RtpPacket

log = logging.getLogger(__name__)

_DECODERS: dict[str, Literal["h264", "hevc", "mpeg4"]] = {"H264": "h264", "H265": "hevc", "MPEG4": "mpeg4"}


@dataclass(frozen=True)
class StreamProbe:
    connect_ms: float  # TCP connect
    describe_ms: float  # DESCRIBE round trip, auth retry included
    first_frame_ms: float  # from the start of connect to the first complete keyframe
    fps: float | None  # from the frames received over the sample window; None below two frames
    codec: str  # "H264" | "H265" | "MPEG4"
    width: int | None  # from the decoded first keyframe (decode=True)
    height: int | None
    frames: int  # complete access units in the sample window, the keyframe included
    frame: av.VideoFrame | None  # the decoded first keyframe (decode=True), for snapshots


async def probe_stream(
    url: str,
    *,
    username: str | None,
    password: str | None,
    timeout: float,  # noqa: ASYNC109  (bounds each step, not the whole call: see the docstring)
    sample_seconds: float = 0.5,
    decode: bool = True,
) -> StreamProbe:
    """Raises the RtspError subclasses; `timeout` bounds each step and the wait for the first keyframe."""
    started = time.monotonic()
    async with RtspClient(url, username=username, password=password, timeout=timeout) as client:
        connected = time.monotonic()
        sdp = await client.describe()
        described = time.monotonic()
        track = sdp.video()
        if track is None:
            raise UnsupportedCodec(f"camera at {client.where} offers no video track")
        depacketizer = depacketizer_for(track)
        channels = await client.setup(track)
        await client.play()
        units = await _sample(client, channels.rtp, depacketizer, sample_seconds)
    keyframe = units[0]
    frame = await asyncio.to_thread(decode_keyframe, depacketizer.codec, keyframe.data) if decode else None
    probe = StreamProbe(
        connect_ms=(connected - started) * 1000,
        describe_ms=(described - connected) * 1000,
        first_frame_ms=(keyframe.received_at - started) * 1000,
        fps=_fps(units, track.clock_rate),
        codec=depacketizer.codec,
        width=frame.width if frame is not None else None,
        height=frame.height if frame is not None else None,
        frames=len(units),
        frame=frame,
    )
    log.debug(
        "probed %s: %s, first keyframe after %.0f ms, %d frames, %d packets lost",
        client.where,
        probe.codec,
        probe.first_frame_ms,
        probe.frames,
        depacketizer.lost_packets,
    )
    return probe


async def _sample(
    client: RtspClient, channel: int, depacketizer: Depacketizer, sample_seconds: float
) -> list[AccessUnit]:
    """The first keyframe and the units completed within `sample_seconds` of it."""
    units: list[AccessUnit] = []
    keyframe_deadline = time.monotonic() + client.timeout
    async with contextlib.aclosing(client.packets()) as packets:
        async for packet in packets:
            if not isinstance(packet, RtpPacket):
                continue
            if packet.channel == channel:
                for unit in depacketizer.push(packet):
                    if not units and not unit.keyframe:
                        continue
                    if units and unit.received_at - units[0].received_at > sample_seconds:
                        return units
                    units.append(unit)
                    if sample_seconds <= 0:
                        return units
            if not units and packet.received_at > keyframe_deadline:
                raise RtspTimeout(
                    f"video from {client.where} has no keyframe within {client.timeout:.1f} s: "
                    "is the keyframe interval longer than the timeout?"
                )
    if not units:
        raise RtspProtocolError(f"stream from {client.where} ended before its first keyframe")
    return units


def _fps(units: list[AccessUnit], clock_rate: int) -> float | None:
    if len(units) < 2:
        return None
    arrival_span = units[-1].received_at - units[0].received_at
    rtp_span = ((units[-1].timestamp - units[0].timestamp) & 0xFFFFFFFF) / clock_rate if clock_rate else 0.0
    span = max(arrival_span, rtp_span)
    return (len(units) - 1) / span if span > 0 else None


def decode_keyframe(codec: str, data: bytes) -> av.VideoFrame:
    """Decode one keyframe (Annex-B / elementary stream with its parameter sets) into a picture."""
    context = av.CodecContext.create(_DECODERS[codec], "r")
    context.thread_count = 1  # one picture: frame threads would only add start-up cost and delay
    try:
        frames = context.decode(av.Packet(data)) or context.decode(None)
    except av.error.FFmpegError as exc:
        raise RtspProtocolError(f"the camera's first {codec} keyframe does not decode: {exc}") from None
    if not frames:
        raise RtspProtocolError(f"the camera's first {codec} keyframe decoded to no picture")
    return frames[0]
