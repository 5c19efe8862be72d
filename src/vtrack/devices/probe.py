"""Probe what a user saved as a source (an ONVIF camera, an NVR, a vendor device, an RTSP URL).

One entry point for the registry, whatever the protocol, so saving a source reads the same for all of
them: DeviceProbes with their cameras, or a DeviceError saying what went wrong.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from vtrack.devices.errors import DeviceError
from vtrack.devices.http_clients import device_client
from vtrack.devices.onvif.errors import NotOnvif
from vtrack.devices.onvif.interrogate import interrogate
from vtrack.devices.onvif.models import DetectedCamera, DeviceInformation, DeviceProbe
from vtrack.devices.rtsp.probe import probe_stream
from vtrack.devices.tapo import CONTROL_PORT, STREAM_PORT, TapoCamera, TapoTarget
from vtrack.devices.vendor_probe import probe_vendor

DEFAULT_PORTS = {"onvif": 80, "nvr": 80, "hikvision": 80, "dahua": 80, "rtsp": 554, "tapo": CONTROL_PORT}
TAPO_RTSP = "rtsp://{host}:554/stream{n}"  # the camera's own streams (1: main, 2: sub)


@dataclass(frozen=True)
class SourceSpec:
    type: str
    host: str | None
    ports: list[int]
    username: str | None
    password: str | None
    timeout: float
    rtsp_url: str | None = None
    name: str = "Camera"
    stream_port: int | None = None  # Tapo's media port


async def probe_tapo(spec: SourceSpec, port: int) -> DeviceProbe:
    """A Tapo camera is one camera: its secure login proves the password, getDeviceInfo names it."""
    host = spec.host or ""
    target = TapoTarget(host, spec.password or "", port, spec.stream_port or STREAM_PORT, spec.timeout)
    camera = await TapoCamera.connect(target)
    try:
        info = await camera.info()
    finally:
        await camera.close()
    detected = DetectedCamera(
        id=f"tapo_{host}_channel_1",
        name=str(info.get("device_alias") or spec.name),
        channel=1,
        resolution=None,
        codec=None,
        fps=None,
        onvif_port=0,
        rtsp_port=554,
        rtsp_url=TAPO_RTSP.format(host=host, n=1),
        sub_stream_url=TAPO_RTSP.format(host=host, n=2),
        snapshot_url=None,
        capabilities=["recordings"],
        host=host,
        protocol="tapo",
        manufacturer="TP-Link",
        model=info.get("device_model"),
        serial=info.get("dev_id"),
        firmware=info.get("sw_version"),
    )
    about = DeviceInformation(
        "TP-Link", info.get("device_model"), info.get("sw_version"), info.get("dev_id"), None
    )
    probe = DeviceProbe(host, port, "tapo", detected.name, about, cameras=[detected])
    probe.notes.append(
        "live view over RTSP needs the camera account (Tapo app: Advanced Settings > Camera Account),"
        " not the cloud password: set it on the camera"
    )
    return probe


async def probe_rtsp(spec: SourceSpec) -> DeviceProbe:
    """A bare RTSP URL is one camera: what the stream itself says (codec, size, fps) is all there is."""
    url = spec.rtsp_url or f"rtsp://{spec.host}:{spec.ports[0]}/"
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 554
    stream = await probe_stream(
        url, username=spec.username, password=spec.password, timeout=spec.timeout, sample_seconds=1.0
    )
    camera = DetectedCamera(
        id=f"rtsp_{host}_channel_1",
        name=spec.name,
        channel=1,
        resolution=f"{stream.width}x{stream.height}" if stream.width and stream.height else None,
        codec=stream.codec,
        fps=round(stream.fps) if stream.fps else None,
        onvif_port=0,
        rtsp_port=port,
        rtsp_url=url,
        sub_stream_url=None,
        snapshot_url=None,
        capabilities=[],
        host=host,
        protocol="rtsp",
    )
    return DeviceProbe(host=host, port=port, protocol="rtsp", name=spec.name, cameras=[camera])


async def _vendor(
    http: httpx.AsyncClient, spec: SourceSpec, host: str, port: int, expect: str | None
) -> DeviceProbe | DeviceError:
    try:
        found = await probe_vendor(
            http, host, port, username=spec.username, password=spec.password, request_timeout=spec.timeout
        )
    except DeviceError as error:
        return error
    if isinstance(found, DeviceProbe):
        if expect is not None and found.protocol != expect:
            return DeviceError(f"{host}:{port} is a {found.protocol} device, not {expect}", "protocol")
        return found
    kind = {"closed": "unreachable", "timeout": "timeout"}.get(found.kind, "not_onvif")
    return DeviceError(f"{host}:{port}: {found.explanation}", kind)


async def _onvif(
    http: httpx.AsyncClient, spec: SourceSpec, host: str, port: int
) -> DeviceProbe | DeviceError:
    """ONVIF first; a port that answers but not ONVIF may be a Hikvision/Dahua API with ONVIF off."""
    try:
        return await interrogate(
            http, host, port, username=spec.username, password=spec.password, request_timeout=spec.timeout
        )
    except NotOnvif:
        return await _vendor(http, spec, host, port, expect=None)
    except DeviceError as error:
        return error


async def probe_source(spec: SourceSpec) -> list[DeviceProbe]:
    """Every port of the source probed at once; fails only when no port gave a device."""
    outcomes: list[DeviceProbe | DeviceError]
    async with device_client() as http:
        if spec.type == "rtsp":
            try:
                outcomes = [await probe_rtsp(spec)]
            except DeviceError as error:
                outcomes = [error]
        elif spec.host and spec.type in {"onvif", "nvr"}:
            host = spec.host
            outcomes = list(await asyncio.gather(*(_onvif(http, spec, host, port) for port in spec.ports)))
        elif spec.host and spec.type == "tapo":
            try:
                outcomes = [await probe_tapo(spec, spec.ports[0])]
            except DeviceError as error:
                outcomes = [error]
        elif spec.host and spec.type in {"hikvision", "dahua"}:
            host, expect = spec.host, spec.type
            outcomes = list(
                await asyncio.gather(*(_vendor(http, spec, host, port, expect) for port in spec.ports))
            )
        else:
            raise DeviceError(f"source type {spec.type!r} needs a host", "protocol")
    probes = [o for o in outcomes if isinstance(o, DeviceProbe)]
    errors = [o for o in outcomes if isinstance(o, DeviceError)]
    if not probes:
        # Credentials refused beats "nothing there": it is the one the user can fix.
        raise next((e for e in errors if e.kind == "auth"), errors[0])
    for port, outcome in zip(spec.ports, outcomes, strict=False):
        if isinstance(outcome, DeviceError):
            probes[0].notes.append(f"port {port}: {outcome.message}")
    return probes
