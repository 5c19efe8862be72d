"""The ONVIF Media service (trt, Profile S): two media profiles per camera/channel (main and sub), their URIs.

Each profile carries a video source configuration (the sensor's bounds, shared by both profiles of a camera)
and a video encoder configuration (codec, resolution, frame rate) matching what the RTSP server sends on
that stream. Profiles are listed main then sub for each camera in turn, as cameras and NVRs list them.
Media 1's VideoEncoding enumeration predates H.265; like many real H.265 cameras the simulator still
reports "H265" there, which clients (zeep does not validate enumerations) read as a string.
"""

from __future__ import annotations

from vtrack.simulator.config import CameraSpec
from vtrack.simulator.onvif import capabilities
from vtrack.simulator.onvif.device import Device
from vtrack.simulator.onvif.operations import Operation, Service
from vtrack.simulator.onvif.soap import invalid_arg
from vtrack.simulator.onvif.xmlns import TRT, Element, el
from vtrack.simulator.streams import STREAMS, Stream, profile_name, profile_token, stream_spec

ENCODINGS = {"h264": "H264", "h265": "H265", "mpeg4": "MPEG4"}
SESSION_TIMEOUT = "PT60S"


def _bitrate_kbps(camera: CameraSpec) -> int:
    return max(512, camera.width * camera.height * camera.fps // 10_000)


def _resolution(parent: Element, camera: CameraSpec) -> None:
    resolution = el(parent, "tt:Resolution")
    el(resolution, "tt:Width", camera.width)
    el(resolution, "tt:Height", camera.height)


def video_source_configuration(parent: Element, tag: str, camera: CameraSpec) -> Element:
    config = el(parent, tag, token=f"video_source_config_{camera.channel}")
    el(config, "tt:Name", f"VideoSourceConfig_{camera.channel}")
    el(config, "tt:UseCount", len(STREAMS))
    el(config, "tt:SourceToken", f"video_source_{camera.channel}")
    el(config, "tt:Bounds", x="0", y="0", width=str(camera.width), height=str(camera.height))
    return config


def video_encoder_configuration(
    parent: Element, tag: str, camera: CameraSpec, stream: Stream = "main"
) -> Element:
    suffix = "" if stream == "main" else "_sub"
    config = el(parent, tag, token=f"video_encoder_config_{camera.channel}{suffix}")
    el(config, "tt:Name", f"{'MainStream' if stream == 'main' else 'SubStream'}_{camera.channel}")
    el(config, "tt:UseCount", 1)
    camera = stream_spec(camera, stream)
    el(config, "tt:Encoding", ENCODINGS[camera.codec])
    _resolution(config, camera)
    el(config, "tt:Quality", 5)
    rate = el(config, "tt:RateControl")
    el(rate, "tt:FrameRateLimit", camera.fps)
    el(rate, "tt:EncodingInterval", 1)
    el(rate, "tt:BitrateLimit", _bitrate_kbps(camera))
    if camera.codec == "mpeg4":
        mpeg4 = el(config, "tt:MPEG4")
        el(mpeg4, "tt:GovLength", camera.fps * 2)
        el(mpeg4, "tt:Mpeg4Profile", "SP")
    elif camera.codec == "h264":
        h264 = el(config, "tt:H264")
        el(h264, "tt:GovLength", camera.fps * 2)
        el(h264, "tt:H264Profile", "Main")
    multicast = el(config, "tt:Multicast")
    address = el(multicast, "tt:Address")
    el(address, "tt:Type", "IPv4")
    el(address, "tt:IPv4Address", "0.0.0.0")  # noqa: S104 (no multicast group configured, as cameras report)
    el(multicast, "tt:Port", 0)
    el(multicast, "tt:TTL", 0)
    el(multicast, "tt:AutoStart", False)
    el(config, "tt:SessionTimeout", SESSION_TIMEOUT)
    return config


def profile(parent: Element, tag: str, camera: CameraSpec, stream: Stream = "main") -> Element:
    node = el(parent, tag, token=profile_token(camera, stream), fixed="true")
    el(node, "tt:Name", profile_name(camera, stream))
    video_source_configuration(node, "tt:VideoSourceConfiguration", camera)
    video_encoder_configuration(node, "tt:VideoEncoderConfiguration", camera, stream)
    return node


def _profile(device: Device, request: Element) -> tuple[CameraSpec, Stream]:
    token = (request.findtext(f"{{{TRT}}}ProfileToken") or "").strip()
    found = device.profile_by_token(token)
    if found is None:
        raise invalid_arg("ter:NoProfile", f"No profile with token {token!r}")
    return found


def get_profiles(device: Device, request: Element) -> Element:
    response = el(None, "trt:GetProfilesResponse")
    for camera in device.cameras:
        for stream in STREAMS:
            profile(response, "trt:Profiles", camera, stream)
    return response


def get_profile(device: Device, request: Element) -> Element:
    response = el(None, "trt:GetProfileResponse")
    profile(response, "trt:Profile", *_profile(device, request))
    return response


def get_video_sources(device: Device, request: Element) -> Element:
    response = el(None, "trt:GetVideoSourcesResponse")
    for camera in device.cameras:
        source = el(response, "trt:VideoSources", token=f"video_source_{camera.channel}")
        el(source, "tt:Framerate", float(camera.fps))
        _resolution(source, camera)
    return response


def get_video_source_configurations(device: Device, request: Element) -> Element:
    response = el(None, "trt:GetVideoSourceConfigurationsResponse")
    for camera in device.cameras:
        video_source_configuration(response, "trt:Configurations", camera)
    return response


def get_video_encoder_configurations(device: Device, request: Element) -> Element:
    response = el(None, "trt:GetVideoEncoderConfigurationsResponse")
    for camera in device.cameras:
        for stream in STREAMS:
            video_encoder_configuration(response, "trt:Configurations", camera, stream)
    return response


def _media_uri(response: Element, uri: str) -> Element:
    media_uri = el(response, "trt:MediaUri")
    el(media_uri, "tt:Uri", uri)
    el(media_uri, "tt:InvalidAfterConnect", False)
    el(media_uri, "tt:InvalidAfterReboot", False)
    el(media_uri, "tt:Timeout", "PT0S")
    return response


def get_stream_uri(device: Device, request: Element) -> Element:
    """The camera's live RTSP URL; every transport asked for (UDP, TCP, RTSP, HTTP) gets the same RTSP URL."""
    return _media_uri(el(None, "trt:GetStreamUriResponse"), device.stream_uri(*_profile(device, request)))


def get_snapshot_uri(device: Device, request: Element) -> Element:
    camera, _ = _profile(device, request)
    return _media_uri(el(None, "trt:GetSnapshotUriResponse"), device.snapshot_uri(camera))


def get_service_capabilities(device: Device, request: Element) -> Element:
    response = el(None, "trt:GetServiceCapabilitiesResponse")
    capabilities.service_capabilities(device, "media", response)
    return response


SERVICE = Service(
    name="media",
    namespace=TRT,
    operations={
        "GetProfiles": Operation(get_profiles),
        "GetProfile": Operation(get_profile),
        "GetVideoSources": Operation(get_video_sources),
        "GetVideoSourceConfigurations": Operation(get_video_source_configurations),
        "GetVideoEncoderConfigurations": Operation(get_video_encoder_configurations),
        "GetStreamUri": Operation(get_stream_uri),
        "GetSnapshotUri": Operation(get_snapshot_uri),
        "GetServiceCapabilities": Operation(get_service_capabilities),
    },
)
