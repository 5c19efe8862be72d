"""ISAPI's descriptions of a device's streams and service ports, as Hikvision firmware writes them.

`/ISAPI/Streaming/channels` lists every stream (id = channel * 100 + 1 for main, + 2 for sub) with the
channel's name and the encoder settings; clients read codec, size and frame rate from its Video element,
where maxFrameRate is in hundredths of a frame per second (2500 is 25 fps) and codecs are spelled
"H.264", "H.265", "MPEG4". `/ISAPI/Security/adminAccesses` lists the ports of the device's protocols,
which is where a client learns that RTSP is not on 554.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from vtrack.simulator.config import CameraSpec, Codec
from vtrack.simulator.personas import hikvision_xml as hx
from vtrack.simulator.streams import STREAMS, Stream, stream_spec

CODEC_NAMES: dict[Codec, str] = {"h264": "H.264", "h265": "H.265", "mpeg4": "MPEG4"}


def stream_id(camera: CameraSpec, stream: Stream) -> int:
    return camera.channel * 100 + (1 if stream == "main" else 2)


def _bitrate_kbps(camera: CameraSpec) -> int:
    return max(256, camera.width * camera.height * camera.fps // 10_000)


def streaming_channel(parent: ET.Element | None, camera: CameraSpec, stream: Stream) -> ET.Element:
    """One <StreamingChannel>: a document of its own, or appended to a list."""
    node = hx.document("StreamingChannel") if parent is None else hx.add(parent, "StreamingChannel")
    if parent is not None:
        node.set("version", "2.0")
        node.set("xmlns", hx.HIKVISION_NAMESPACE)
    spec = stream_spec(camera, stream)
    hx.add(node, "id", str(stream_id(camera, stream)))
    hx.add(node, "channelName", camera.name)
    hx.add(node, "enabled", "true")
    transport = hx.add(node, "Transport")
    hx.add(transport, "maxPacketSize", "1000")
    protocols = hx.add(transport, "ControlProtocolList")
    for name in ("RTSP", "HTTP"):
        hx.add(hx.add(protocols, "ControlProtocol"), "streamingTransport", name)
    unicast = hx.add(transport, "Unicast")
    hx.add(unicast, "enabled", "true")
    hx.add(unicast, "rtpTransportType", "RTP/TCP")
    security = hx.add(transport, "Security")
    hx.add(security, "enabled", "true")
    hx.add(security, "certificateType", "digest")
    video = hx.add(node, "Video")
    hx.add(video, "enabled", "true")
    hx.add(video, "videoInputChannelID", str(camera.channel))
    hx.add(video, "videoCodecType", CODEC_NAMES[spec.codec])
    hx.add(video, "videoScanType", "progressive")
    hx.add(video, "videoResolutionWidth", str(spec.width))
    hx.add(video, "videoResolutionHeight", str(spec.height))
    hx.add(video, "videoQualityControlType", "VBR")
    hx.add(video, "fixedQuality", "60")
    hx.add(video, "vbrUpperCap", str(_bitrate_kbps(spec)))
    hx.add(video, "vbrLowerCap", "32")
    hx.add(video, "maxFrameRate", str(spec.fps * 100))
    hx.add(video, "keyFrameInterval", "1000")
    hx.add(video, "snapShotImageType", "JPEG")
    hx.add(video, "GovLength", str(spec.fps))
    return node


def streaming_channels(cameras: list[CameraSpec]) -> ET.Element:
    root = hx.document("StreamingChannelList")
    for camera in cameras:
        for stream in STREAMS:
            streaming_channel(root, camera, stream)
    return root


def admin_accesses(http_port: int, rtsp_port: int) -> ET.Element:
    """The protocols this device serves and their ports (no HTTPS or SDK port: the simulator has neither
    on the device port)."""
    root = hx.document("AdminAccessProtocolList")
    for index, (protocol, port) in enumerate((("HTTP", http_port), ("RTSP", rtsp_port)), start=1):
        entry = hx.add(root, "AdminAccessProtocol")
        entry.set("version", "2.0")
        entry.set("xmlns", hx.HIKVISION_NAMESPACE)
        hx.add(entry, "id", str(index))
        hx.add(entry, "enabled", "true")
        hx.add(entry, "protocol", protocol)
        hx.add(entry, "portNo", str(port))
    return root
