"""Ask one ONVIF device everything vtrack needs to add its cameras: identity, services, profiles, URIs.

Profiles are grouped by the video source they encode: one source is one camera (on an NVR, one channel),
its highest-resolution profile is the main stream and the next one the sub stream. Profile names on real
cameras are often generic ("mainStream", "Profile_1"); then the camera is named after the device (and
channel), which is what an installer recognises.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import httpx

from vtrack.devices.onvif.client import PTZ_NAMESPACE, OnvifClient
from vtrack.devices.onvif.discovery import scope_value
from vtrack.devices.onvif.models import DetectedCamera, DeviceProbe, MediaProfile
from vtrack.devices.onvif.namespaces import TDS, TRC, TRP, TRT, TSE

_GENERIC_NAME = re.compile(r"^(profile|main|sub|stream|media|token|default|minor|major|third)[\w\s-]*$", re.I)
_SERVICE_NAMES = {
    TDS: "device",
    TRT: "media",
    TRC: "recording",
    TSE: "search",
    TRP: "replay",
    PTZ_NAMESPACE: "ptz",
}
_CODECS = {"H264": "H264", "H265": "H265", "HEVC": "H265", "MPEG4": "MPEG4", "JPEG": "MJPEG"}


def _group_by_source(profiles: list[MediaProfile]) -> list[list[MediaProfile]]:
    groups: dict[str, list[MediaProfile]] = {}
    for profile in profiles:
        if profile.encoding is None:
            continue  # audio- or metadata-only profile
        groups.setdefault(profile.source_token or profile.token, []).append(profile)
    return [sorted(group, key=lambda p: -p.pixels) for group in groups.values()]


def _camera_name(main: MediaProfile, device_name: str, channel: int, channels: int) -> str:
    if main.name and not _GENERIC_NAME.match(main.name):
        return main.name
    return device_name if channels == 1 else f"{device_name} channel {channel}"


def _rtsp_port(url: str | None) -> int | None:
    if not url:
        return None
    parts = urlsplit(url)
    return parts.port or (554 if parts.scheme == "rtsp" else None)


async def interrogate(
    http: httpx.AsyncClient,
    host: str,
    port: int,
    *,
    username: str | None,
    password: str | None,
    request_timeout: float,
) -> DeviceProbe:
    """Raises OnvifError (kinds: unreachable, timeout, not_onvif, auth, fault, protocol)."""
    client = OnvifClient(http, host, port, username=username, password=password, timeout=request_timeout)
    skew = await client.sync_clock()
    info = await client.device_information()
    services = await client.discover_services()
    scopes = await client.scopes()
    groups = _group_by_source(await client.profiles())
    device_name = scope_value(scopes, "name") or " ".join(filter(None, [info.manufacturer, info.model]))
    device_name = device_name or host
    profile_g = any(ns in services for ns in (TRC, TSE, TRP))

    async def camera(channel: int, profiles: list[MediaProfile]) -> DetectedCamera:
        main, sub = profiles[0], profiles[1] if len(profiles) > 1 else None
        main_uri, sub_uri, snapshot = await asyncio.gather(
            client.stream_uri(main.token),
            client.stream_uri(sub.token) if sub else _none(),
            client.snapshot_uri(main.token),
        )
        capabilities = ["recording"] if profile_g else []
        if main.has_ptz or (len(groups) == 1 and PTZ_NAMESPACE in services):
            capabilities.append("ptz")
        if snapshot:
            capabilities.append("snapshot")
        if main.has_audio:
            capabilities.append("audio")
        codec = _CODECS.get((main.encoding or "").upper(), main.encoding)
        return DetectedCamera(
            id=f"onvif_{host}_channel_{channel}",
            name=_camera_name(main, device_name, channel, len(groups)),
            channel=channel,
            resolution=f"{main.width}x{main.height}" if main.width and main.height else None,
            codec=codec,
            fps=main.fps,
            onvif_port=port,
            rtsp_port=_rtsp_port(main_uri),
            rtsp_url=main_uri,
            sub_stream_url=sub_uri,
            snapshot_url=snapshot,
            capabilities=capabilities,
            host=host,
            profile_token=main.token,
            manufacturer=info.manufacturer,
            model=info.model,
            serial=info.serial,
            firmware=info.firmware,
        )

    cameras = list(await asyncio.gather(*(camera(i + 1, g) for i, g in enumerate(groups))))
    probe = DeviceProbe(
        host=host,
        port=port,
        protocol="onvif",
        name=device_name,
        info=info,
        is_nvr=len(groups) > 1 or profile_g,
        cameras=cameras,
        clock_skew_seconds=skew,
        services=sorted(_SERVICE_NAMES.get(ns, ns.rstrip("/").rsplit("/", 2)[-2]) for ns in services),
    )
    if skew is not None and abs(skew) > 5:
        probe.notes.append(f"device clock is {skew:+.0f} s off; requests were signed in the device's time")
    if client.rewritten:
        probe.notes.append(f"device advertises addresses it cannot be reached on (NAT?); rewritten to {host}")
    return probe


async def _none() -> None:
    return None
