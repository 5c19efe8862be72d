"""The session description a DESCRIBE returns (RFC 4566), shaped like IP cameras' own.

Clients decode from the SDP's parameter sets before the first keyframe arrives (FFmpeg builds its
extradata from sprop-parameter-sets / sprop-vps,sps,pps / config=), so they are always included. The
media line carries no direction attribute: ONVIF uses a=sendonly to mark an audio *back*channel, and
GStreamer's rtspsrc skips such streams.
"""

from __future__ import annotations

import base64
from datetime import datetime

from vtrack.simulator.media.bitstream import mpeg4_profile_level
from vtrack.simulator.media.stream import CLOCK_RATE, StreamInfo
from vtrack.simulator.rtsp.rtp import PAYLOAD_TYPE

TRACK = "trackID=0"


def _b64(data: bytes | None) -> str:
    return base64.b64encode(data or b"").decode("ascii")


def _fmtp(info: StreamInfo) -> tuple[str, str]:
    params = info.params
    if info.codec == "h264":
        sps = params.sps or b"\x67\x42\x00\x1e"
        profile_level = sps[1:4].hex().upper()
        sprop = f"{_b64(params.sps)},{_b64(params.pps)}"
        return "H264", f"packetization-mode=1;profile-level-id={profile_level};sprop-parameter-sets={sprop}"
    if info.codec == "h265":
        return (
            "H265",
            f"sprop-vps={_b64(params.vps)};sprop-sps={_b64(params.sps)};sprop-pps={_b64(params.pps)}",
        )
    config = params.config or b""
    return "MP4V-ES", f"profile-level-id={mpeg4_profile_level(config)};config={config.hex().upper()}"


def clock_time(when: datetime) -> str:
    """RFC 2326 absolute time as ONVIF replay uses it: 20240131T235959.5Z."""
    text = when.strftime("%Y%m%dT%H%M%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


def build_sdp(
    info: StreamInfo,
    *,
    host: str,
    session_id: int,
    name: str,
    clock_range: tuple[datetime, datetime] | None = None,
) -> str:
    """SDP for one video track; `clock_range` (replay) adds the recording's absolute range."""
    encoding, fmtp = _fmtp(info)
    fps = info.fps
    framerate = f"{float(fps):.3f}".rstrip("0").rstrip(".")
    range_line = (
        f"a=range:clock={clock_time(clock_range[0])}-{clock_time(clock_range[1])}"
        if clock_range is not None
        else "a=range:npt=0-"
    )
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN IP4 {host}",
        f"s={name}",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "a=control:*",
        range_line,
        f"m=video 0 RTP/AVP {PAYLOAD_TYPE}",
        f"a=rtpmap:{PAYLOAD_TYPE} {encoding}/{CLOCK_RATE}",
        f"a=fmtp:{PAYLOAD_TYPE} {fmtp}",
        f"a=control:{TRACK}",
        f"a=framerate:{framerate}",
        f"a=x-dimensions:{info.width},{info.height}",
    ]
    return "\r\n".join(lines) + "\r\n"
