"""One device port over real HTTP: snapshot behind Digest, SOAP authentication answers, the persona hook.

Credentials come from independent implementations: aiohttp's DigestAuthMiddleware and zeep's
UsernameToken, never from the simulator's own code.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import aiohttp
import av
import pytest
from aiohttp import web
from lxml import etree
from zeep.wsse.username import UsernameToken

from vtrack.simulator.config import SimulatorConfig, default_cameras
from vtrack.simulator.device_http import DEVICE, DeviceServer

S = "http://www.w3.org/2003/05/soap-envelope"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TER = "http://www.onvif.org/ver10/error"
SOAP = {"Content-Type": "application/soap+xml; charset=utf-8"}


def envelope(operation: str, namespace: str = S) -> etree._Element:
    root = etree.Element(f"{{{namespace}}}Envelope", nsmap={"s": namespace, "tds": TDS})
    etree.SubElement(root, f"{{{namespace}}}Header")
    body = etree.SubElement(root, f"{{{namespace}}}Body")
    etree.SubElement(body, f"{{{TDS}}}{operation}")
    return root


def signed(operation: str, user: str, password: str, created: datetime | None = None) -> bytes:
    root = envelope(operation)
    UsernameToken(user, password, use_digest=True, created=created, zulu_timestamp=True).apply(root, {})
    return etree.tostring(root)


def fault_subcodes(body: bytes) -> list[str]:
    root = etree.fromstring(body)
    return [value.text or "" for value in root.iter(f"{{{S}}}Value")]


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(cameras=default_cameras(2), host="127.0.0.2", onvif_port_base=0, nvr=True)


async def test_snapshot_needs_digest_and_decodes_at_each_channels_resolution(config: SimulatorConfig) -> None:
    async with asyncio.timeout(10), DeviceServer(config, discovery_port=None) as server:
        base = f"http://127.0.0.2:{server.devices[0].port}"
        async with aiohttp.ClientSession() as session, session.get(f"{base}/snapshot.jpg?channel=1") as reply:
            assert reply.status == 401
            challenge = reply.headers["WWW-Authenticate"]
            assert (
                challenge.startswith("Digest ") and 'realm="vtrack-sim"' in challenge and "qop=" in challenge
            )
        digest = aiohttp.DigestAuthMiddleware(config.username, config.password)
        async with aiohttp.ClientSession(middlewares=(digest,)) as session:
            for camera in config.cameras:
                async with session.get(f"{base}/snapshot.jpg?channel={camera.channel}") as reply:
                    assert reply.status == 200
                    assert reply.content_type == "image/jpeg"
                    jpeg = await reply.read()
                with av.open(io.BytesIO(jpeg)) as container:
                    frame = next(container.decode(video=0))
                assert (frame.width, frame.height) == (camera.width, camera.height)
            async with session.get(f"{base}/snapshot.jpg?channel=9") as reply:
                assert reply.status == 404
            async with session.get(f"{base}/snapshot.jpg?channel=one") as reply:
                assert reply.status == 400
        wrong = aiohttp.DigestAuthMiddleware(config.username, "guess")
        async with (
            aiohttp.ClientSession(middlewares=(wrong,)) as session,
            session.get(f"{base}/snapshot.jpg") as reply,
        ):
            assert reply.status == 401


async def test_soap_authentication_answers_like_a_camera(config: SimulatorConfig) -> None:
    async with asyncio.timeout(10), DeviceServer(config, discovery_port=None) as server:
        url = f"http://127.0.0.2:{server.devices[0].port}/onvif/device_service"
        async with aiohttp.ClientSession() as session:
            # No credentials: 401 with a Digest challenge and a NotAuthorized fault in the body.
            async with session.post(
                url, data=etree.tostring(envelope("GetDeviceInformation")), headers=SOAP
            ) as r:
                assert r.status == 401
                assert r.headers["WWW-Authenticate"].startswith("Digest ")
                assert r.content_type == "application/soap+xml"
                assert fault_subcodes(await r.read()) == ["s:Sender", "ter:NotAuthorized"]
            # A UsernameToken with the wrong password: 400, as ONVIF Core has it for sender faults.
            async with session.post(
                url, data=signed("GetDeviceInformation", "admin", "nope"), headers=SOAP
            ) as r:
                assert r.status == 400
                assert fault_subcodes(await r.read()) == ["s:Sender", "ter:NotAuthorized"]
            # The right password but a token created an hour ago is stale on the device's clock.
            old = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
            stale = signed("GetDeviceInformation", "admin", config.password, created=old)
            async with session.post(url, data=stale, headers=SOAP) as r:
                assert r.status == 400
            fresh = signed("GetDeviceInformation", "admin", config.password)
            async with session.post(url, data=fresh, headers=SOAP) as r:
                assert r.status == 200
                assert b"SimCam-NVR2" in await r.read()
            # GetSystemDateAndTime needs nothing: clients read the clock before they can sign.
            async with session.post(
                url, data=etree.tostring(envelope("GetSystemDateAndTime")), headers=SOAP
            ) as r:
                assert r.status == 200
            # Not XML, and SOAP 1.1: the faults a device sends for them.
            async with session.post(url, data=b"<s:Envelope", headers=SOAP) as r:
                assert r.status == 400
                assert fault_subcodes(await r.read()) == ["s:Sender", "ter:WellFormed"]
            soap11 = etree.tostring(
                envelope("GetSystemDateAndTime", "http://schemas.xmlsoap.org/soap/envelope/")
            )
            async with session.post(url, data=soap11, headers=SOAP) as r:
                assert r.status == 500
                assert fault_subcodes(await r.read()) == ["s:VersionMismatch"]
        # HTTP Digest instead of WS-Security, as some clients authenticate.
        digest = aiohttp.DigestAuthMiddleware(config.username, config.password)
        async with aiohttp.ClientSession(middlewares=(digest,)) as session:
            async with session.post(
                url, data=etree.tostring(envelope("GetDeviceInformation")), headers=SOAP
            ) as r:
                assert r.status == 200


async def test_persona_routes_share_the_port_and_its_faults(config: SimulatorConfig) -> None:
    async def device_info(request: web.Request) -> web.Response:
        return web.Response(
            text=f"<DeviceInfo><deviceName>{request.app[DEVICE].name}</deviceName></DeviceInfo>"
        )

    def add_isapi(app: web.Application) -> None:
        app.router.add_get("/ISAPI/System/deviceInfo", device_info)

    async with (
        asyncio.timeout(10),
        DeviceServer(config, extra_routes=add_isapi, discovery_port=None) as server,
    ):
        device = server.devices[0]
        assert server.device_for(config.cameras[1]) is device  # an NVR serves every channel
        url = f"http://127.0.0.2:{device.port}/ISAPI/System/deviceInfo"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as reply:
                assert reply.status == 200
                assert "<deviceName>vtrack NVR</deviceName>" in await reply.text()
            device.faults.slow_seconds = 0.3
            started = asyncio.get_running_loop().time()
            async with session.get(url) as reply:
                assert reply.status == 200
            assert asyncio.get_running_loop().time() - started >= 0.3
            device.faults.offline = True
            with pytest.raises(aiohttp.ClientConnectionError):
                async with session.get(url) as reply:
                    await reply.read()
