"""DahuaClient against the simulator's Dahua persona, and the Basic-only login some Dahua OEM firmware has."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from tests.devices.vendor_site import (
    HOST,
    PASSWORD,
    USER,
    base_url,
    first_frame_size,
    http_client,
    jpeg_size,
    vendor_site,
)
from vtrack.devices.dahua import DahuaClient, parse_key_values
from vtrack.devices.http import VendorAuthError, VendorChannel, VendorDeviceInfo, VendorError


async def test_camera_identity_channel_snapshot_and_stream() -> None:
    async with vendor_site("dahua", onvif_disabled=True) as site, http_client() as http:
        client = DahuaClient(http, base_url(site), USER, PASSWORD, timeout=5)
        assert await client.device_info() == VendorDeviceInfo(
            vendor="dahua",
            manufacturer="Dahua",
            model="IPC-HFW2431S-S-S2",
            serial="SIM000001",
            firmware="2.800.0000000.25.R,build:2022-08-26",
            device_type="IPCamera",
            name="Gate",
        )
        rtsp = f"rtsp://{HOST}:{site.rtsp.port}/cam/realmonitor"
        assert await client.channels() == [
            VendorChannel(
                channel=1,
                name="Gate",
                main_stream_url=f"{rtsp}?channel=1&subtype=0",
                sub_stream_url=f"{rtsp}?channel=1&subtype=1",
                snapshot_url=f"{base_url(site)}/cgi-bin/snapshot.cgi?channel=1",
                codec="h264",
                resolution="640x360",
                fps=10,
            )
        ]
        assert jpeg_size(await client.snapshot(1)) == (640, 360)
        url = f"rtsp://{USER}:{PASSWORD}@{HOST}:{site.rtsp.port}/cam/realmonitor?channel=1&subtype=1"
        assert await asyncio.wait_for(asyncio.to_thread(first_frame_size, url), 20) == (640, 360)


async def test_nvr_channels_titles_and_encoders() -> None:
    async with vendor_site("dahua", nvr=True) as site, http_client() as http:
        client = DahuaClient(http, base_url(site), USER, PASSWORD, timeout=5)
        info = await client.device_info()
        assert info.device_type == "NVR"
        assert await client.channel_count() == 2
        channels = await client.channels()
        assert [(c.channel, c.name, c.codec, c.resolution, c.fps) for c in channels] == [
            (1, "Gate", "h264", "640x360", 10),
            (2, "Yard", "h265", "480x272", 12),
        ]
        assert channels[1].sub_stream_url == (
            f"rtsp://{HOST}:{site.rtsp.port}/cam/realmonitor?channel=2&subtype=1"
        )
        assert jpeg_size(await client.snapshot(2)) == (480, 272)
        with pytest.raises(VendorError) as refused:
            await client.snapshot(9)  # Dahua answers an unknown channel with 400 Bad Request
        assert refused.value.kind == "protocol"


async def test_wrong_password_is_an_auth_error() -> None:
    async with vendor_site("dahua") as site, http_client() as http:
        with pytest.raises(VendorAuthError) as refused:
            await DahuaClient(http, base_url(site), USER, "guess", timeout=5).device_info()
        assert refused.value.kind == "auth" and "Dahua device" in refused.value.message


def basic_only_device(request: httpx.Request) -> httpx.Response:
    """An OEM firmware that offers Basic only, as a MockTransport handler."""
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    if request.headers.get("authorization") != expected:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="Login to 4K0"'})
    answers = {
        "getDeviceType": "type=DH-IPC-HDW1230S",
        "getSerialNo": "sn=4K0123",
        "getMachineName": "name=Porch",
    }
    action = request.url.params.get("action", "")
    if request.url.path == "/cgi-bin/magicBox.cgi" and action in answers:
        return httpx.Response(200, text=answers[action] + "\r\n")
    return httpx.Response(400, text="Error\r\nBad Request!\r\n")


async def test_basic_only_firmware_and_missing_optional_calls() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(basic_only_device)) as http:
        client = DahuaClient(http, "http://127.0.0.1:8081", USER, PASSWORD, timeout=5)
        info = await client.device_info()
        # No getDeviceClass, vendor or software version on this firmware: defaults, not a failure.
        assert (info.model, info.serial, info.name, info.device_type) == (
            "DH-IPC-HDW1230S",
            "4K0123",
            "Porch",
            "IPCamera",
        )
        assert (info.manufacturer, info.firmware) == ("Dahua", "")
        assert await client.rtsp_port() == 554
        wrong = DahuaClient(http, "http://127.0.0.1:8081", USER, "nope", timeout=5)
        with pytest.raises(VendorAuthError):
            await wrong.device_info()


def test_key_value_lines() -> None:
    assert parse_key_values("a=1\r\nb.c[0]=x=y\r\nOK\r\n\r\n") == {"a": "1", "b.c[0]": "x=y"}
