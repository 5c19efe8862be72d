"""fingerprint_port and identify_vendor on loopback: simulated vendor devices, an SDK port, RTSP, web pages,
silent and closed ports. Every explanation is checked for the words an installer needs.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from tests.devices.vendor_site import HOST, PASSWORD, USER, device_port, http_client, vendor_site
from tests.simulator.loopback import serve
from vtrack.devices.fingerprint import explain_not_http, fingerprint_port, identify_vendor
from vtrack.devices.http import VendorAuthError

TIMEOUT = 2.0


async def test_vendor_ports_with_onvif_on_and_off() -> None:
    async with http_client() as http:
        for persona in ("hikvision", "dahua"):
            for onvif_off in (False, True):
                async with vendor_site(persona, onvif_disabled=onvif_off) as site:
                    report = await fingerprint_port(http, HOST, device_port(site), timeout=TIMEOUT)
                assert report.kind == persona, report
                if onvif_off:
                    assert "ONVIF does not answer here (switch it on" in report.explanation
                else:
                    assert report.explanation.endswith("ONVIF answers on this port too")


async def test_onvif_sdk_and_rtsp_ports() -> None:
    async with vendor_site("onvif", sdk_ports=True) as site, http_client() as http:
        onvif = await fingerprint_port(http, HOST, device_port(site), timeout=TIMEOUT)
        assert onvif.kind == "onvif" and "ONVIF device service answers" in onvif.explanation
        sdk_port = site.sdk_ports[0].port
        sdk = await fingerprint_port(http, HOST, sdk_port, timeout=TIMEOUT)
        assert sdk.kind == "not_http"
        assert sdk.explanation == (
            f"port {sdk_port} accepts connections but does not speak HTTP (it answered with binary data): "
            "a vendor's own protocol; ONVIF and the web API are normally on port 80"
        )
        rtsp = await fingerprint_port(http, HOST, site.rtsp.port, timeout=TIMEOUT)
        assert rtsp.kind == "not_http" and "speaks RTSP, not HTTP" in rtsp.explanation


def test_well_known_binary_ports_are_named() -> None:
    assert "usually the Hikvision SDK/iVMS port; ONVIF and ISAPI are normally on port 80" in explain_not_http(
        8000, b"\x00\x00\x00\x20"
    )
    assert "Dahua SDK" in explain_not_http(37777, b"")
    assert "XMEye" in explain_not_http(34567, b"\xff\x01")
    assert "speaks TLS (HTTPS)" in explain_not_http(443, b"\x15\x03\x01\x00\x02")


async def test_closed_and_silent_ports() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind((HOST, 0))
        closed_port = probe.getsockname()[1]

    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(4096)  # until the prober gives up and closes
        writer.close()

    silent = await asyncio.start_server(say_nothing, HOST, 0)
    silent_port = silent.sockets[0].getsockname()[1]
    try:
        async with http_client() as http:
            closed = await fingerprint_port(http, HOST, closed_port, timeout=TIMEOUT)
            assert closed.kind == "closed" and "refused the connection" in closed.explanation
            quiet = await fingerprint_port(http, HOST, silent_port, timeout=0.3)
            assert quiet.kind == "not_http" and "stayed silent" in quiet.explanation
    finally:
        silent.close()
        await silent.wait_closed()


@asynccontextmanager
async def web_server(login: bool) -> AsyncIterator[int]:
    """A router-like web page; with `login`, every path asks for a Basic password (a web UI's login)."""

    async def page(request: web.Request) -> web.Response:
        if login:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="Router"'})
        if request.path != "/":
            raise web.HTTPNotFound()
        return web.Response(text="<html><body>Router</body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    async with serve(app, HOST) as base:
        yield int(base.rsplit(":", 1)[1])


@pytest.mark.parametrize("login", [False, True], ids=["open", "behind-login"])
async def test_other_web_servers_are_plain_http(login: bool) -> None:
    async with web_server(login) as port, http_client() as http:
        report = await fingerprint_port(http, HOST, port, timeout=TIMEOUT)
    assert report.kind == "http"
    assert report.server is not None and "aiohttp" in report.server
    assert "is not ONVIF, Hikvision ISAPI or the Dahua HTTP API" in report.explanation


async def test_identify_vendor_reads_identity_and_channels() -> None:
    async with http_client() as http:
        async with vendor_site("hikvision", onvif_disabled=True) as site:
            found = await identify_vendor(
                http, HOST, device_port(site), username=USER, password=PASSWORD, timeout=TIMEOUT
            )
            assert found is not None
            assert (found.info.vendor, found.info.name) == ("hikvision", "Gate")
            assert [c.main_stream_url for c in found.channels] == [
                f"rtsp://{HOST}:{site.rtsp.port}/Streaming/Channels/101"
            ]
            with pytest.raises(VendorAuthError) as refused:
                await identify_vendor(
                    http, HOST, device_port(site), username=USER, password="wrong", timeout=TIMEOUT
                )
            assert refused.value.kind == "auth"
        async with vendor_site("dahua", nvr=True, sdk_ports=True) as site:
            found = await identify_vendor(
                http, HOST, device_port(site), username=USER, password=PASSWORD, timeout=TIMEOUT
            )
            assert found is not None and found.info.device_type == "NVR"
            assert [c.name for c in found.channels] == ["Gate", "Yard"]
            sdk = await identify_vendor(
                http, HOST, site.sdk_ports[0].port, username=USER, password=PASSWORD, timeout=TIMEOUT
            )
            assert sdk is None
        async with vendor_site("onvif") as site:
            plain = await identify_vendor(
                http, HOST, device_port(site), username=USER, password=PASSWORD, timeout=TIMEOUT
            )
            assert plain is None
