"""OnvifClient and SoapCaller against the simulator's devices and their fault switches, on loopback.

Each failure a device can show must come out as an OnvifError of the right kind with a message naming the
address, never as an httpx or lxml exception.
"""

from __future__ import annotations

import errno
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from tests.devices.onvif import HOST, PASSWORD, USERNAME, closed_port, device_ports, site
from tests.simulator.loopback import serve
from vtrack.devices.onvif.client import OnvifClient
from vtrack.devices.onvif.errors import (
    NotHttp,
    NotOnvif,
    OnvifAuthError,
    OnvifFault,
    OnvifNoRoute,
    OnvifPortClosed,
    OnvifProtocolError,
    OnvifTimeout,
    OnvifUnreachable,
)
from vtrack.devices.onvif.namespaces import TDS, TRC, TRP, TRT, TSE
from vtrack.devices.onvif.soap import Credentials, parse_reply
from vtrack.simulator.onvif.device import UNREACHABLE_HOST
from vtrack.simulator.personas.digest import DigestAuthenticator, Verdict

URL = "http://127.0.77.1:80/onvif/device_service"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def client_for(
    http: httpx.AsyncClient,
    port: int,
    *,
    username: str | None = USERNAME,
    password: str | None = PASSWORD,
    timeout: float = 3.0,
) -> OnvifClient:
    return OnvifClient(http, HOST, port, username=username, password=password, timeout=timeout)


@pytest.mark.parametrize("skew", [7200.0, -7200.0])
async def test_clock_sync_measures_the_skew_and_signs_in_device_time(
    http: httpx.AsyncClient, skew: float
) -> None:
    async with site(1, clock_skew_seconds=skew) as sim:
        port = device_ports(sim)[0]
        unsynced = client_for(http, port)
        # Signed with our clock, two hours off the camera's: the camera refuses the token.
        with pytest.raises(OnvifAuthError):
            await unsynced.device_information()

        client = client_for(http, port)
        measured = await client.sync_clock()
        assert measured is not None and abs(measured - skew) < 2
        assert abs(client.soap.clock_offset.total_seconds() - skew) < 2
        info = await client.device_information()
    assert (info.manufacturer, info.model, info.serial) == ("vtrack", "SimCam", "SIM000001")


async def test_an_in_sync_device_is_not_reported_skewed(http: httpx.AsyncClient) -> None:
    async with site(1) as sim:
        client = client_for(http, device_ports(sim)[0])
        measured = await client.sync_clock()
    # The device reports whole seconds; the client allows for the cut-off half second.
    assert measured is not None and abs(measured) <= 1.0
    assert client.soap.clock_offset.total_seconds() == 0


async def test_services_come_from_get_services(http: httpx.AsyncClient) -> None:
    async with site(2, nvr=True) as sim:
        port = device_ports(sim)[0]
        client = client_for(http, port)
        services = await client.discover_services()
    assert services[TRT] == f"http://{HOST}:{port}/onvif/media_service"
    assert {TDS, TRT, TRC, TSE, TRP} <= services.keys()
    assert not client.rewritten


async def test_nat_rewrites_service_xaddrs_and_stream_uris_to_the_address_used(
    http: httpx.AsyncClient,
) -> None:
    async with site(1, wrong_xaddrs=True) as sim:
        port = device_ports(sim)[0]
        client = client_for(http, port)
        await client.sync_clock()
        services = await client.discover_services()
        profile = (await client.profiles())[0]  # reached through the rewritten media XAddr
        uri = await client.stream_uri(profile.token)
        snapshot = await client.snapshot_uri(profile.token)
    assert client.rewritten
    assert all(url.startswith(f"http://{HOST}:{port}/onvif/") for url in services.values()), services
    # RTSP is forwarded on its own port: the host is replaced, the advertised port kept.
    assert uri == f"rtsp://{HOST}:{sim.rtsp.port}/live/1"
    assert snapshot == f"http://{HOST}:{port}/snapshot.jpg?channel=1"
    assert UNREACHABLE_HOST not in repr((services, uri, snapshot))


@pytest.mark.parametrize("nvr", [False, True], ids=["camera", "nvr"])
async def test_without_get_services_the_services_come_from_get_capabilities(
    http: httpx.AsyncClient, nvr: bool
) -> None:
    async with site(2 if nvr else 1, nvr=nvr, no_get_services=True) as sim:
        port = device_ports(sim)[0]
        client = client_for(http, port)
        services = await client.discover_services()
        profiles = await client.profiles()
    assert services[TRT] == f"http://{HOST}:{port}/onvif/media_service"
    assert (TRC in services) is nvr and (TSE in services) is nvr and (TRP in services) is nvr
    assert len(profiles) == (4 if nvr else 2)  # a main and a sub profile per camera


async def test_without_get_services_behind_nat_capabilities_xaddrs_are_rewritten(
    http: httpx.AsyncClient,
) -> None:
    async with site(1, no_get_services=True, wrong_xaddrs=True) as sim:
        port = device_ports(sim)[0]
        client = client_for(http, port)
        services = await client.discover_services()
    assert services[TRT] == f"http://{HOST}:{port}/onvif/media_service"
    assert client.rewritten


async def test_wrong_password_is_an_auth_error_that_does_not_repeat_the_password(
    http: httpx.AsyncClient,
) -> None:
    secret = "Not-The-Password-7f3a"
    async with site(1) as sim:
        client = client_for(http, device_ports(sim)[0], password=secret)
        with pytest.raises(OnvifAuthError) as caught:
            await client.device_information()
    assert caught.value.kind == "auth"
    assert "refused the credentials" in caught.value.message
    assert secret not in repr(caught.value) and secret not in repr(client.soap.credentials)


async def test_wrong_password_fault_on_the_device_side(http: httpx.AsyncClient) -> None:
    async with site(1, wrong_password=True) as sim:
        client = client_for(http, device_ports(sim)[0])
        assert await client.sync_clock() is not None  # public: answered whatever the password
        with pytest.raises(OnvifAuthError):
            await client.device_information()


async def test_closed_port_is_port_closed(http: httpx.AsyncClient) -> None:
    client = client_for(http, closed_port())
    with pytest.raises(OnvifPortClosed) as caught:
        await client.sync_clock()
    assert caught.value.kind == "unreachable"
    assert "connection refused" in caught.value.message and HOST in caught.value.message


async def test_no_route_to_host_is_its_own_kind_of_unreachable() -> None:
    """On a LAN an absent address fails ARP (EHOSTUNREACH); a sweep counts those instead of listing them.
    Loopback cannot produce it, so the transport raises what httpx raises there."""

    def no_route(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("No route to host", request=request) from OSError(
            errno.EHOSTUNREACH, "No route to host"
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(no_route)) as http:
        with pytest.raises(OnvifNoRoute) as caught:
            await client_for(http, 80).sync_clock()
    assert caught.value.kind == "unreachable" and "no route to host" in caught.value.message


async def test_slow_device_times_out_within_the_timeout(http: httpx.AsyncClient) -> None:
    async with site(1, slow_seconds=1.0) as sim:
        client = client_for(http, device_ports(sim)[0], timeout=0.3)
        started = time.monotonic()
        with pytest.raises(OnvifTimeout) as caught:
            await client.sync_clock()
        assert time.monotonic() - started < 1.5
    assert caught.value.kind == "timeout" and "0.3 s" in caught.value.message


async def test_malformed_xml_is_a_protocol_error(http: httpx.AsyncClient) -> None:
    async with site(1, malformed_xml=True) as sim:
        client = client_for(http, device_ports(sim)[0])
        with pytest.raises(OnvifProtocolError) as caught:
            await client.sync_clock()
    assert "malformed SOAP XML" in caught.value.message


async def test_sdk_port_is_not_http(http: httpx.AsyncClient) -> None:
    async with site(1, sdk=True) as sim:
        client = client_for(http, sim.sdk_ports[0].port)
        with pytest.raises(NotHttp) as caught:
            await client.sync_clock()
    assert caught.value.kind == "not_onvif"
    assert "does not speak HTTP" in caught.value.message and "SDK" in caught.value.message


async def test_offline_device_drops_the_connection_and_is_unreachable(http: httpx.AsyncClient) -> None:
    async with site(1, offline=True) as sim:
        client = client_for(http, device_ports(sim)[0])
        with pytest.raises(OnvifUnreachable) as caught:
            await client.sync_clock()
    # Dropped connections are a device going down, not "this port does not speak HTTP".
    assert not isinstance(caught.value, NotOnvif)
    assert "dropped" in caught.value.message


async def test_onvif_switched_off_is_not_onvif(http: httpx.AsyncClient) -> None:
    async with site(1, onvif_disabled=True) as sim:
        client = client_for(http, device_ports(sim)[0])
        with pytest.raises(NotOnvif) as caught:
            await client.sync_clock()
    assert "switched off" in caught.value.message


# -- a device that wants HTTP Digest, not WS-Security ------------------------------------------------

DEVICE_INFORMATION = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
    b' xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Body>'
    b"<tds:GetDeviceInformationResponse><tds:Manufacturer>DigestOnly</tds:Manufacturer>"
    b"<tds:Model>D1</tds:Model><tds:FirmwareVersion>1.0</tds:FirmwareVersion>"
    b"<tds:SerialNumber>D-0001</tds:SerialNumber><tds:HardwareId>h</tds:HardwareId>"
    b"</tds:GetDeviceInformationResponse></s:Body></s:Envelope>"
)


def digest_only_device(password: str) -> web.Application:
    """Answers only requests with valid HTTP Digest, whatever WS-Security header they carry."""
    digest = DigestAuthenticator("digest-only")

    async def endpoint(request: web.Request) -> web.Response:
        verdict = digest.verify(
            request.method, request.path_qs, request.headers.get("Authorization"), USERNAME, password
        )
        if verdict is not Verdict.OK:
            challenge = digest.challenge(stale=verdict is Verdict.STALE)
            return web.Response(status=401, text="Unauthorized", headers={"WWW-Authenticate": challenge})
        return web.Response(body=DEVICE_INFORMATION, content_type="application/soap+xml")

    app = web.Application()
    app.router.add_post("/onvif/device_service", endpoint)
    return app


async def test_http_digest_challenge_is_answered_with_the_same_credentials(http: httpx.AsyncClient) -> None:
    async with serve(digest_only_device(PASSWORD), HOST) as base:
        port = int(base.rsplit(":", 1)[1])
        client = client_for(http, port)
        info = await client.device_information()
        assert (info.manufacturer, info.serial) == ("DigestOnly", "D-0001")
        again = await client.device_information()  # digest from now on
        assert again.model == "D1"
        with pytest.raises(OnvifAuthError):
            await client_for(http, port, password="wrong").device_information()


# -- replies parsed as bytes ----------------------------------------------------------------------------


def test_soap11_fault_with_faultcode_is_a_fault() -> None:
    reply = (
        b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>'
        b"<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>bad</faultstring>"
        b"</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    with pytest.raises(OnvifFault) as caught:
        parse_reply(reply, 500, URL)
    assert caught.value.subcode == "Client" and "bad" in caught.value.message


def test_action_not_supported_fault_is_recognised() -> None:
    reply = (
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
        b' xmlns:ter="http://www.onvif.org/ver10/error"><s:Body><s:Fault>'
        b"<s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>ter:ActionNotSupported</s:Value>"
        b"</s:Subcode></s:Code><s:Reason><s:Text xml:lang='en'>no</s:Text></s:Reason>"
        b"</s:Fault></s:Body></s:Envelope>"
    )
    with pytest.raises(OnvifFault) as caught:
        parse_reply(reply, 500, URL)
    assert caught.value.not_supported


@pytest.mark.parametrize(
    ("content", "status", "error"),
    [
        (b"Unauthorized", 401, OnvifAuthError),
        (b"<html><body>login</body></html>", 200, NotOnvif),
        (b"not xml at all", 200, NotOnvif),
        (
            b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Bo',
            200,
            OnvifProtocolError,
        ),
        (
            b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>',
            200,
            OnvifProtocolError,
        ),
        (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', 200, NotOnvif),
    ],
    ids=["401-text", "html", "text", "truncated-soap", "empty-body", "entity"],
)
def test_replies_that_are_not_usable_soap(content: bytes, status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_reply(content, status, URL)


def test_credentials_never_show_the_password() -> None:
    assert "hunter2" not in repr(Credentials("admin", "hunter2"))
