"""vtrack's own RTSP client: health probes, snapshots and (Step 4) ONVIF replay over one TCP connection."""

from vtrack.devices.rtsp.client import Channels, RtspClient
from vtrack.devices.rtsp.depacketize import AccessUnit, Depacketizer, depacketizer_for
from vtrack.devices.rtsp.errors import (
    RtspAuthError,
    RtspError,
    RtspProtocolError,
    RtspStatusError,
    RtspTimeout,
    RtspUnreachable,
    UnsupportedCodec,
)
from vtrack.devices.rtsp.probe import StreamProbe, probe_stream
from vtrack.devices.rtsp.rtp import RtcpPacket, RtpPacket
from vtrack.devices.rtsp.sdp import SessionDescription, Track, parse_sdp
from vtrack.devices.rtsp.wire import RtspResponse

__all__ = [
    "AccessUnit",
    "Channels",
    "Depacketizer",
    "RtcpPacket",
    "RtpPacket",
    "RtspAuthError",
    "RtspClient",
    "RtspError",
    "RtspProtocolError",
    "RtspResponse",
    "RtspStatusError",
    "RtspTimeout",
    "RtspUnreachable",
    "SessionDescription",
    "StreamProbe",
    "Track",
    "UnsupportedCodec",
    "depacketizer_for",
    "parse_sdp",
    "probe_stream",
]
