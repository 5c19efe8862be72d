"""Hikvision and Dahua devices through their own HTTP APIs, as DeviceProbes like ONVIF ones.

Many installs have ONVIF switched off (Hikvision ships that way); the vendor API still lists the
channels with their names and stream URLs, so such a device is added the same way, just without Profile
G recording search (its own API serves that in step 4).
"""

from __future__ import annotations

import httpx

from vtrack.devices.fingerprint import PortReport, fingerprint_port, identify_vendor
from vtrack.devices.http import VendorDevice
from vtrack.devices.onvif.models import DetectedCamera, DeviceInformation, DeviceProbe


def as_device_probe(device: VendorDevice, host: str, port: int) -> DeviceProbe:
    info = device.info
    cameras = [
        DetectedCamera(
            id=f"{info.vendor}_{host}_channel_{channel.channel}",
            name=channel.name,
            channel=channel.channel,
            resolution=channel.resolution,
            codec=channel.codec.upper() if channel.codec else None,
            fps=channel.fps,
            onvif_port=port,
            rtsp_port=_port(channel.main_stream_url),
            rtsp_url=channel.main_stream_url,
            sub_stream_url=channel.sub_stream_url,
            snapshot_url=channel.snapshot_url,
            capabilities=["recording", "snapshot"] if info.device_type == "NVR" else ["snapshot"],
            host=host,
            protocol=info.vendor,
            manufacturer=info.manufacturer,
            model=info.model,
            serial=info.serial,
            firmware=info.firmware,
        )
        for channel in device.channels
    ]
    return DeviceProbe(
        host=host,
        port=port,
        protocol=info.vendor,
        name=info.name,
        info=DeviceInformation(info.manufacturer, info.model, info.firmware, info.serial, None),
        is_nvr=info.device_type == "NVR",
        cameras=cameras,
    )


def _port(url: str) -> int | None:
    return httpx.URL(url).port or 554


async def probe_vendor(
    http: httpx.AsyncClient,
    host: str,
    port: int,
    *,
    username: str | None,
    password: str | None,
    request_timeout: float,
) -> DeviceProbe | PortReport:
    """The device's cameras when it is a Hikvision/Dahua API we can log in to; else what the port is."""
    if username:
        device = await identify_vendor(
            http, host, port, username=username, password=password or "", timeout=request_timeout
        )
        if device is not None:
            return as_device_probe(device, host, port)
    return await fingerprint_port(http, host, port, timeout=request_timeout)
