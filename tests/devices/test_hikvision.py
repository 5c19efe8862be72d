"""HikvisionClient against the simulator's Hikvision persona: identity, channels, snapshots, refusals."""

from __future__ import annotations

import asyncio

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
from vtrack.devices.hikvision import HikvisionClient
from vtrack.devices.http import VendorAuthError, VendorChannel, VendorDeviceInfo, VendorError


async def test_camera_identity_channel_snapshot_and_stream() -> None:
    async with vendor_site("hikvision") as site, http_client() as http:
        client = HikvisionClient(http, base_url(site), USER, PASSWORD, timeout=5)
        assert await client.device_info() == VendorDeviceInfo(
            vendor="hikvision",
            manufacturer="Hikvision",
            model="DS-2CD2143G2-I",
            serial="SIM000001",
            firmware="V5.7.3 build 220112",
            device_type="IPCamera",
            name="Gate",
        )
        rtsp = f"rtsp://{HOST}:{site.rtsp.port}/Streaming/Channels"
        [channel] = await client.channels()
        assert channel == VendorChannel(
            channel=1,
            name="Gate",
            main_stream_url=f"{rtsp}/101",
            sub_stream_url=f"{rtsp}/102",
            snapshot_url=f"{base_url(site)}/ISAPI/Streaming/channels/101/picture",
            codec="h264",
            resolution="640x360",
            fps=10,
        )
        assert await client.rtsp_port() == site.rtsp.port  # from /ISAPI/Security/adminAccesses
        assert jpeg_size(await client.snapshot(1)) == (640, 360)
        with pytest.raises(VendorError) as missing:
            await client.snapshot(7)
        assert missing.value.kind == "not_found"
        # The URL the client built is one the device's RTSP server plays.
        url = channel.sub_stream_url.replace("rtsp://", f"rtsp://{USER}:{PASSWORD}@")
        assert await asyncio.wait_for(asyncio.to_thread(first_frame_size, url), 20) == (640, 360)


async def test_nvr_lists_every_channel_with_its_stream_settings() -> None:
    async with vendor_site("hikvision", nvr=True) as site, http_client() as http:
        client = HikvisionClient(http, base_url(site), USER, PASSWORD, timeout=5, rtsp_port=10554)
        info = await client.device_info()
        assert (info.device_type, info.name, info.model) == ("NVR", "Hikvision NVR", "DS-2CD2143G2-I-NVR2")
        channels = await client.channels()
        assert [(c.channel, c.name, c.codec, c.resolution, c.fps) for c in channels] == [
            (1, "Gate", "h264", "640x360", 10),
            (2, "Yard", "h265", "480x272", 12),
        ]
        # A port the caller knows (port forwarding) wins over the device's own word.
        assert channels[1].main_stream_url == f"rtsp://{HOST}:10554/Streaming/Channels/201"
        assert jpeg_size(await client.snapshot(2)) == (480, 272)


async def test_wrong_password_is_an_auth_error_and_onvif_off_changes_nothing() -> None:
    async with vendor_site("hikvision", onvif_disabled=True) as site, http_client() as http:
        wrong = HikvisionClient(http, base_url(site), USER, "not-it", timeout=5)
        with pytest.raises(VendorAuthError) as refused:
            await wrong.device_info()
        assert refused.value.kind == "auth"
        assert "refused user 'admin'" in refused.value.message and "not-it" not in refused.value.message
        right = HikvisionClient(http, base_url(site, 1), USER, PASSWORD, timeout=5)
        assert (await right.device_info()).name == "Yard"
        assert [c.name for c in await right.channels()] == ["Yard"]


async def test_a_stopped_device_is_unreachable() -> None:
    async with vendor_site("hikvision") as site:
        stopped = base_url(site)
    async with http_client() as http:
        with pytest.raises(VendorError) as gone:
            await HikvisionClient(http, stopped, USER, PASSWORD, timeout=2).device_info()
    assert gone.value.kind == "unreachable"
