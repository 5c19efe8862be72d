"""The ONVIF-side fault switches make the simulated camera fail the way real ones do, seen by real clients.

wrong_xaddrs advertises 10.255.255.1, a private address nothing here routes to; these tests only read that
address out of responses and never let a client connect to it (onvif-zeep-async's nat_override rewrites
every advertised URL back to the address it was given, which is what a NAT-aware client must do).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import zeep.exceptions
from lxml import etree
from onvif.exceptions import ONVIFError

from tests.simulator.onvif.peers import NOT_AUTHORIZED, onvif_client, onvif_datetime, serving, stream_setup
from vtrack.simulator.config import SimulatorConfig, default_cameras
from vtrack.simulator.onvif.device import UNREACHABLE_HOST

TIME_REQUEST = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
    b' xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
    b"<s:Body><tds:GetSystemDateAndTime/></s:Body></s:Envelope>"
)
SOAP = {"Content-Type": "application/soap+xml; charset=utf-8"}


def one_camera(**fault_values: object) -> SimulatorConfig:
    config = SimulatorConfig(cameras=default_cameras(1), host="127.0.0.2", onvif_port_base=0)
    for name, value in fault_values.items():
        setattr(config.cameras[0].faults, name, value)
    return config


async def test_slow_camera_answers_late() -> None:
    config = one_camera(slow_seconds=0.4)
    async with asyncio.timeout(10), serving(config) as server:
        port = server.devices[0].port
        async with onvif_client(config.host, port, config.username, config.password) as camera:
            devicemgmt = await camera.create_devicemgmt_service()
            started = time.perf_counter()
            await devicemgmt.GetDeviceInformation()
            assert time.perf_counter() - started >= 0.4
            config.cameras[0].faults.slow_seconds = 0.0  # switches are read per request
            started = time.perf_counter()
            await devicemgmt.GetDeviceInformation()
            assert time.perf_counter() - started < 0.3


async def test_clock_skew_shows_in_device_time_and_breaks_unsynced_digests() -> None:
    config = one_camera(clock_skew_seconds=-7200.0)
    async with asyncio.timeout(10), serving(config) as server:
        port = server.devices[0].port
        async with onvif_client(config.host, port, config.username, config.password) as camera:
            devicemgmt = await camera.create_devicemgmt_service()
            clock = (await devicemgmt.GetSystemDateAndTime()).UTCDateTime
            reported = onvif_datetime(clock)
            assert abs(reported - (datetime.now(UTC) - timedelta(hours=2))) < timedelta(seconds=5)
            # The client signs with its own clock: two hours off the device's, so the token is refused.
            with pytest.raises(zeep.exceptions.Fault) as fault:
                await devicemgmt.GetDeviceInformation()
            assert NOT_AUTHORIZED in fault.value.subcodes
        # adjust_time makes the client sign with the device's clock, as it must for such cameras.
        async with onvif_client(
            config.host, port, config.username, config.password, adjust_time=True
        ) as camera:
            await camera.update_xaddrs()
            devicemgmt = await camera.create_devicemgmt_service()
            assert (await devicemgmt.GetDeviceInformation()).Model == "SimCam"
            search_free = await camera.create_media_service()
            assert len(await search_free.GetProfiles()) == 2  # main and sub


async def test_wrong_xaddrs_advertise_an_unreachable_private_address() -> None:
    config = one_camera(wrong_xaddrs=True)
    async with asyncio.timeout(10), serving(config) as server:
        port = server.devices[0].port
        async with onvif_client(
            config.host, port, config.username, config.password, nat_override=True
        ) as camera:
            # The device service is reached at the address the client was given, whatever is advertised.
            devicemgmt = await camera.create_devicemgmt_service()
            services = await devicemgmt.GetServices({"IncludeCapability": False})
            assert {s.XAddr.split("/")[2] for s in services} == {f"{UNREACHABLE_HOST}:{port}"}
            capabilities = await devicemgmt.GetCapabilities({"Category": "All"})
            assert capabilities.Media.XAddr == f"http://{UNREACHABLE_HOST}:{port}/onvif/media_service"
            interfaces = await devicemgmt.GetNetworkInterfaces()
            assert interfaces[0].IPv4.Config.Manual[0].Address == UNREACHABLE_HOST

            await camera.update_xaddrs()  # nat_override rewrites the advertised host back to 127.0.0.2
            assert all(xaddr.startswith(f"http://127.0.0.2:{port}/") for xaddr in camera.xaddrs.values())
            media = await camera.create_media_service()
            profiles = await media.GetProfiles()
            uri = await media.GetStreamUri({"StreamSetup": stream_setup(), "ProfileToken": profiles[0].token})
            # Stream URIs are not covered by nat_override: the client sees the NAT-side address.
            assert uri.Uri == f"rtsp://{UNREACHABLE_HOST}:8554/live/1"


async def test_malformed_xml_truncates_every_soap_response() -> None:
    config = one_camera(malformed_xml=True)
    async with asyncio.timeout(10), serving(config) as server:
        url = f"http://127.0.0.2:{server.devices[0].port}/onvif/device_service"
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=TIME_REQUEST, headers=SOAP) as reply,
        ):
            assert reply.status == 200
            body = await reply.read()
        assert body.startswith(b"<?xml") and b"GetSystemDateAndTimeResponse" in body
        with pytest.raises(etree.XMLSyntaxError):
            etree.fromstring(body)
        async with onvif_client(
            config.host, server.devices[0].port, config.username, config.password
        ) as camera:
            devicemgmt = await camera.create_devicemgmt_service()
            # zeep parses replies in lxml's recovery mode, so the cut shows up as an envelope without a body.
            with pytest.raises((zeep.exceptions.Error, etree.XMLSyntaxError, TypeError)):
                await devicemgmt.GetDeviceInformation()


async def test_offline_camera_drops_connections_and_comes_back() -> None:
    config = one_camera()
    faults = config.cameras[0].faults
    async with asyncio.timeout(10), serving(config) as server:
        port = server.devices[0].port
        url = f"http://127.0.0.2:{port}/onvif/device_service"
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=TIME_REQUEST, headers=SOAP) as reply:
                assert reply.status == 200
            faults.offline = True  # the kept-alive connection and new ones both die now
            with pytest.raises(aiohttp.ClientConnectionError):
                async with session.post(url, data=TIME_REQUEST, headers=SOAP) as reply:
                    await reply.read()
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectionError):
                async with session.post(url, data=TIME_REQUEST, headers=SOAP) as reply:
                    await reply.read()
        async with onvif_client(config.host, port, config.username, config.password) as camera:
            with pytest.raises((ONVIFError, aiohttp.ClientError)):  # the peer lets the reset through as is
                await camera.update_xaddrs()
        faults.offline = False
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=TIME_REQUEST, headers=SOAP) as reply,
        ):
            assert reply.status == 200


async def test_wrong_password_fault_refuses_the_configured_password() -> None:
    config = one_camera(wrong_password=True)
    async with asyncio.timeout(10), serving(config) as server:
        port = server.devices[0].port
        async with onvif_client(config.host, port, config.username, config.password) as camera:
            devicemgmt = await camera.create_devicemgmt_service()
            await camera.update_xaddrs()  # PRE_AUTH operations still answer
            with pytest.raises(zeep.exceptions.Fault) as fault:
                await devicemgmt.GetDeviceInformation()
            assert NOT_AUTHORIZED in fault.value.subcodes
            assert await camera.get_snapshot_uri("profile_1") is None  # GetSnapshotUri is refused too
        # So is the snapshot URL's HTTP Digest.
        snapshot = f"http://127.0.0.2:{port}/snapshot.jpg?channel=1"
        digest = aiohttp.DigestAuthMiddleware(config.username, config.password)
        async with aiohttp.ClientSession(middlewares=(digest,)) as session, session.get(snapshot) as reply:
            assert reply.status == 401
