"""The switches that take ONVIF away: old firmware without GetServices, and ONVIF turned off in the settings.

Independent clients only: onvif-zeep-async (which must fall back to GetCapabilities), httpx with its own
Digest, and the vendor routes and RTSP server of the same simulated device.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from lxml import etree

from tests.simulator.onvif.peers import onvif_client, serving
from tests.simulator.rtsp.client import RtspClient
from vtrack.simulator.config import Persona, SimulatorConfig, default_cameras
from vtrack.simulator.runner import Simulator

S = "http://www.w3.org/2003/05/soap-envelope"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
SOAP = {"Content-Type": "application/soap+xml; charset=utf-8"}


def request(operation: str, namespace: str = TDS) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{S}" xmlns:o="{namespace}">'
        f"<s:Body><o:{operation}/></s:Body></s:Envelope>"
    ).encode()


def fault_values(body: bytes) -> list[str]:
    return [value.text or "" for value in etree.fromstring(body).iter(f"{{{S}}}Value")]


async def test_without_get_services_clients_fall_back_to_get_capabilities() -> None:
    config = SimulatorConfig(cameras=default_cameras(1), host="127.0.0.2", onvif_port_base=0)
    faults = config.cameras[0].faults
    faults.no_get_services = True
    async with asyncio.timeout(15), serving(config) as server:
        port = server.devices[0].port
        base = f"http://127.0.0.2:{port}/onvif"
        async with httpx.AsyncClient(trust_env=False, headers=SOAP) as http:
            for path, operation, namespace in (
                ("device_service", "GetServices", TDS),
                ("device_service", "GetServiceCapabilities", TDS),
                ("media_service", "GetServiceCapabilities", TRT),
            ):
                # No credentials needed to learn that the firmware does not know the action.
                reply = await http.post(f"{base}/{path}", content=request(operation, namespace))
                assert reply.status_code == 500, operation
                assert fault_values(reply.content) == ["s:Receiver", "ter:ActionNotSupported"]
            capabilities = await http.post(f"{base}/device_service", content=request("GetCapabilities"))
            assert capabilities.status_code == 200
            assert b"GetCapabilitiesResponse" in capabilities.content

        async with onvif_client(config.host, port, config.username, config.password) as camera:
            await camera.update_xaddrs()  # GetServices fails, GetCapabilities fills the addresses
            assert camera.xaddrs[TRT] == f"{base}/media_service"
            media = await camera.create_media_service()
            assert [p.token for p in await media.GetProfiles()] == ["profile_1", "profile_1_sub"]

        faults.no_get_services = False  # read per request, like every switch
        async with httpx.AsyncClient(trust_env=False, headers=SOAP) as http:
            reply = await http.post(f"{base}/device_service", content=request("GetServices"))
            assert reply.status_code == 200


@asynccontextmanager
async def site(persona: Persona) -> AsyncIterator[Simulator]:
    config = SimulatorConfig(
        cameras=default_cameras(1), host="127.0.0.2", onvif_port_base=0, rtsp_port=0, persona=persona
    )
    config.cameras[0].faults.onvif_disabled = True
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


async def rtsp_options_status(simulator: Simulator) -> int:
    config = simulator.config
    client = RtspClient(simulator.rtsp.url(config.cameras[0]), config.username, config.password)
    await client.connect()
    try:
        reply = await client.request("OPTIONS")
        return reply.status
    finally:
        await client.close()


async def test_hikvision_with_onvif_off_answers_401_forever_but_isapi_and_rtsp_work() -> None:
    async with asyncio.timeout(15), site("hikvision") as simulator:
        config = simulator.config
        base = simulator.cameras()[0].onvif_url.rsplit("/onvif", 1)[0]
        auth = httpx.DigestAuth(config.username, config.password)
        async with httpx.AsyncClient(trust_env=False, headers=SOAP) as http:
            anonymous = await http.post(
                f"{base}/onvif/device_service", content=request("GetSystemDateAndTime")
            )
            assert anonymous.status_code == 401
            assert anonymous.headers["www-authenticate"].startswith('Digest realm="IP Camera(')
            assert anonymous.headers["content-type"].startswith("text/html")
            assert b"Envelope" not in anonymous.content
            # The right password answers the challenge and is refused all the same.
            for path in ("device_service", "media_service"):
                signed = await http.post(
                    f"{base}/onvif/{path}", content=request("GetProfiles", TRT), auth=auth
                )
                assert signed.status_code == 401
                assert "401 -- Unauthorized" in signed.text
            info = await http.get(f"{base}/ISAPI/System/deviceInfo", auth=auth)
            assert info.status_code == 200 and "<DeviceInfo" in info.text
            snapshot = await http.get(f"{base}/ISAPI/Streaming/channels/101/picture", auth=auth)
            assert snapshot.headers["content-type"] == "image/jpeg"
        assert await rtsp_options_status(simulator) == 200

        config.cameras[0].faults.onvif_disabled = False
        async with onvif_client(
            config.host, int(base.rsplit(":", 1)[1]), config.username, config.password
        ) as cam:
            devicemgmt = await cam.create_devicemgmt_service()
            assert (await devicemgmt.GetDeviceInformation()).Manufacturer == "Hikvision"


async def test_dahua_with_onvif_off_answers_404_but_cgi_works() -> None:
    async with asyncio.timeout(15), site("dahua") as simulator:
        config = simulator.config
        base = simulator.cameras()[0].onvif_url.rsplit("/onvif", 1)[0]
        auth = httpx.DigestAuth(config.username, config.password)
        async with httpx.AsyncClient(trust_env=False, headers=SOAP) as http:
            for path in ("device_service", "media_service"):
                reply = await http.post(
                    f"{base}/onvif/{path}", content=request("GetSystemDateAndTime"), auth=auth
                )
                assert reply.status_code == 404
                assert "www-authenticate" not in reply.headers
                assert b"Envelope" not in reply.content
            device_type = await http.get(f"{base}/cgi-bin/magicBox.cgi?action=getDeviceType", auth=auth)
            assert device_type.status_code == 200 and device_type.text.startswith("type=")
        assert await rtsp_options_status(simulator) == 200
