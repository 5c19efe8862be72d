"""What listens on a host:port, in words an installer understands: closed, silent, not HTTP, or which API.

Sites are full of ports that accept TCP and speak something else: Hikvision's SDK port 8000, Dahua's
37777, XMEye's 34567, RTSP on 554. A client that simply tries HTTP on them hangs or shows a stack trace;
here a raw TCP probe sends one HTTP request and reads the first bytes back, so "not HTTP" is told apart
from "nothing there" and named after the vendor port it usually is. A port that does speak HTTP is asked,
without credentials and at once, the three questions that tell the APIs apart: a SOAP GetSystemDateAndTime
(ONVIF answers it before login; a fault or a 401 with a SOAP body still means ONVIF), ISAPI's deviceInfo
and Dahua's magicBox. A 401 is evidence only with a vendor's signature (realm, body) or when the other
vendor's path does not ask too: a web UI behind a login asks for every path.

`identify_vendor` then logs in to a Hikvision or Dahua port and reads its identity and channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from typing import Literal

import httpx

from vtrack.devices.dahua import DahuaClient
from vtrack.devices.hikvision import HikvisionClient
from vtrack.devices.http import VendorDevice, url_host

log = logging.getLogger(__name__)

PortKind = Literal["closed", "timeout", "not_http", "http", "onvif", "hikvision", "dahua"]

_SOAP_TIME = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
    b'<s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
)
_SOAP_HEADERS = {"Content-Type": "application/soap+xml; charset=utf-8"}
_HIKVISION_REALM = re.compile(r'realm="(IP Camera\(|NVR\(|DVR\(|DVRNVRDVS|Hikvision|DS-|iDS-)', re.IGNORECASE)
_HIKVISION_SERVERS = ("app-webs", "hikvision-webs", "dnvrs-webs", "dvrdvs-webs")
_DAHUA_REALM = re.compile(r'realm="Login to ', re.IGNORECASE)
_HIKVISION_WHERE = "Configuration > Network > Advanced Settings > Integration Protocol"
_DAHUA_WHERE = "Settings > Network > Platform Access (ONVIF)"

# Ports that are usually a vendor's own binary protocol: what the port is, and where the HTTP side lives.
_KNOWN_PORTS = {
    8000: "the Hikvision SDK/iVMS port; ONVIF and ISAPI are normally on port 80 (HTTP) or 443 (HTTPS), "
    "RTSP on 554",
    37777: "the Dahua SDK (SmartPSS/DSS) port; ONVIF and the HTTP API are normally on port 80, RTSP on 554",
    37778: "the Dahua SDK's second port; ONVIF and the HTTP API are normally on port 80, RTSP on 554",
    34567: "the XMEye/NetSurveillance (Xiongmai) port; ONVIF is normally on port 8899 or 80, RTSP on 554",
    9000: "a vendor client port (Reolink uses 9000); ONVIF and the web API are on another port, "
    "often 80 or 8000",
}


@dataclass(frozen=True)
class PortReport:
    kind: PortKind
    explanation: str
    server: str | None = None  # the HTTP Server header, when the port speaks HTTP


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    challenge: str
    server: str


async def fingerprint_port(
    http: httpx.AsyncClient,
    host: str,
    port: int,
    *,
    timeout: float,  # noqa: ASYNC109  (per connect and per request, not a deadline for the whole probe)
) -> PortReport:
    """What answers on host:port; never raises for what the port does, only for a cancelled task."""
    where = f"{host}:{port}"
    first = await _first_bytes(host, port, timeout)
    if isinstance(first, PortReport):
        return first
    if not first.startswith(b"HTTP/"):
        return PortReport("not_http", explain_not_http(port, first))
    base = f"http://{url_host(host)}:{port}"
    onvif, isapi, cgi = await asyncio.gather(
        _ask(
            http, "POST", f"{base}/onvif/device_service", timeout, content=_SOAP_TIME, headers=_SOAP_HEADERS
        ),
        _ask(http, "GET", f"{base}/ISAPI/System/deviceInfo", timeout),
        _ask(http, "GET", f"{base}/cgi-bin/magicBox.cgi?action=getDeviceType", timeout),
    )
    server = next((a.server for a in (onvif, isapi, cgi) if a is not None and a.server), None)
    has_onvif = onvif is not None and _is_soap(onvif.body)
    vendor = _vendor(isapi, cgi, server)
    if vendor == "hikvision":
        how = "answers" if isapi is not None and isapi.status == 200 else "asks for a password"
        return PortReport(
            "hikvision",
            f"Hikvision device on {where}: its ISAPI {how}{_onvif_note(has_onvif, _HIKVISION_WHERE)}",
            server,
        )
    if vendor == "dahua":
        how = "answers" if cgi is not None and cgi.status == 200 else "asks for a password"
        return PortReport(
            "dahua",
            f"Dahua device on {where}: its HTTP API {how}{_onvif_note(has_onvif, _DAHUA_WHERE)}",
            server,
        )
    if has_onvif:
        return PortReport("onvif", f"ONVIF device service answers on {where}", server)
    if onvif is None and isapi is None and cgi is None:
        return PortReport(
            "timeout",
            f"{where} accepted the connection but did not answer HTTP requests within {timeout:g} s",
            server,
        )
    named = f" (server: {server})" if server else ""
    return PortReport(
        "http",
        f"{where} answers HTTP{named} but is not ONVIF, Hikvision ISAPI or the Dahua HTTP API: "
        "a web page, a router, or another vendor's device",
        server,
    )


async def _first_bytes(
    host: str,
    port: int,
    timeout: float,  # noqa: ASYNC109  (for the connect, then for the first bytes)
) -> bytes | PortReport:
    """Connect, send one HTTP request, return the first bytes of the answer (b"" when none came)."""
    where = f"{host}:{port}"
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
    except ConnectionRefusedError:
        return PortReport("closed", f"{where} refused the connection: nothing listens on port {port}")
    except TimeoutError:
        return PortReport(
            "timeout",
            f"no answer from {where} within {timeout:g} s: the device is off or on another network, "
            "or a firewall drops the connection",
        )
    except OSError as error:
        return PortReport("timeout", f"{where} cannot be reached: {error.strerror or error}")
    data = b""
    try:
        request = f"GET / HTTP/1.1\r\nHost: {url_host(host)}:{port}\r\nUser-Agent: vtrack\r\n"
        writer.write(f"{request}Connection: close\r\n\r\n".encode())
        async with asyncio.timeout(timeout):
            await writer.drain()
            while len(data) < 8:
                chunk = await reader.read(64)
                if not chunk:
                    break
                data += chunk
    except (TimeoutError, OSError) as error:
        log.debug("%s: no HTTP answer (%s)", where, error)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return data


def explain_not_http(port: int, first: bytes) -> str:
    """Why a port that took the connection is no use over HTTP, from its port number and first bytes."""
    if first.startswith(b"RTSP/"):
        return (
            f"port {port} speaks RTSP, not HTTP: it carries the video; "
            "ONVIF and the web API are normally on port 80"
        )
    if first[:1] == b"\x15" and first[1:2] == b"\x03":
        return f"port {port} speaks TLS (HTTPS); vtrack asks devices over plain HTTP, normally on port 80"
    heard = "stayed silent" if not first else "answered with binary data"
    known = _KNOWN_PORTS.get(port)
    if known is not None:
        return f"port {port} accepts connections but does not speak HTTP — this is usually {known}"
    return (
        f"port {port} accepts connections but does not speak HTTP (it {heard}): a vendor's own protocol; "
        "ONVIF and the web API are normally on port 80"
    )


async def _ask(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    timeout: float,  # noqa: ASYNC109  (httpx's own per-request timeout)
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> _Answer | None:
    """One request without credentials; None when it got no HTTP answer."""
    try:
        response = await http.request(method, url, content=content, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        log.debug("%s %s: %s", method, url, error)
        return None
    challenge = ", ".join(response.headers.get_list("www-authenticate"))
    return _Answer(
        response.status_code, response.content[:8192], challenge, response.headers.get("server", "")
    )


def _is_soap(body: bytes) -> bool:
    head = body[:4096]
    return b"Envelope" in head and (b"/soap-envelope" in head or b"schemas.xmlsoap.org/soap/envelope" in head)


def _vendor(
    isapi: _Answer | None, cgi: _Answer | None, server: str | None
) -> Literal["hikvision", "dahua"] | None:
    hikvision = isapi is not None and (
        (isapi.status == 200 and (b"<DeviceInfo" in isapi.body or b"hikvision.com" in isapi.body))
        or (
            isapi.status == 401
            and (_HIKVISION_REALM.search(isapi.challenge) is not None or b"userCheck" in isapi.body)
        )
    )
    hikvision = hikvision or (server is not None and server.lower().startswith(_HIKVISION_SERVERS))
    dahua = cgi is not None and (
        (cgi.status == 200 and cgi.body.startswith(b"type="))
        or (cgi.status == 401 and _DAHUA_REALM.search(cgi.challenge) is not None)
    )
    if hikvision and dahua:  # both signatures (an odd OEM): believe the API that answered
        dahua = _status(cgi) == 200 and _status(isapi) != 200
        hikvision = not dahua
    if hikvision != dahua:
        return "hikvision" if hikvision else "dahua"
    # No signature: a lone 401 on one vendor's path while the other's is simply missing.
    isapi_401, cgi_401 = _status(isapi) == 401, _status(cgi) == 401
    if isapi_401 != cgi_401:
        return "hikvision" if isapi_401 else "dahua"
    return None


def _status(answer: _Answer | None) -> int | None:
    return answer.status if answer is not None else None


def _onvif_note(has_onvif: bool, where: str) -> str:
    if has_onvif:
        return "; ONVIF answers on this port too"
    return (
        f"; ONVIF does not answer here (switch it on in the device's settings: {where}, and give it a user)"
    )


async def identify_vendor(
    http: httpx.AsyncClient,
    host: str,
    port: int,
    *,
    username: str,
    password: str,
    timeout: float,  # noqa: ASYNC109  (per connect and per request, handed to httpx)
) -> VendorDevice | None:
    """Identity and channels of a Hikvision or Dahua device on host:port; None for any other port.

    Raises VendorAuthError (kind "auth") when the device refuses the credentials, and VendorError for a
    device that stops answering half-way.
    """
    report = await fingerprint_port(http, host, port, timeout=timeout)
    base = f"http://{url_host(host)}:{port}"
    client: HikvisionClient | DahuaClient
    if report.kind == "hikvision":
        client = HikvisionClient(http, base, username, password, timeout=timeout)
    elif report.kind == "dahua":
        client = DahuaClient(http, base, username, password, timeout=timeout)
    else:
        log.debug("%s:%s is not a vendor API (%s): %s", host, port, report.kind, report.explanation)
        return None
    info = await client.device_info()
    return VendorDevice(info=info, channels=await client.channels())
