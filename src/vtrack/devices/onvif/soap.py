"""One SOAP 1.2 call over httpx, signed with a WS-Security UsernameToken in the device's own time.

Devices reject a UsernameToken whose Created is minutes away from their clock, so the caller passes the
offset it measured with GetSystemDateAndTime (clock skew is common on cameras without NTP). Some devices
want HTTP Digest instead of (or besides) WS-Security: a 401 with a Digest challenge is answered once with
the same credentials. Every transport failure becomes an OnvifError naming the address, never a traceback.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import secrets
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from lxml import etree

from vtrack.devices.onvif.errors import (
    NotHttp,
    NotOnvif,
    OnvifAuthError,
    OnvifError,
    OnvifFault,
    OnvifNoAnswer,
    OnvifNoRoute,
    OnvifPortClosed,
    OnvifProtocolError,
    OnvifTimeout,
    OnvifUnreachable,
)
from vtrack.devices.onvif.namespaces import (
    NONCE_BASE64,
    PASSWORD_DIGEST,
    SOAP11_ENV,
    SOAP_ENV,
    TER,
    WSSE,
    WSU,
    Element,
    local_name,
    parser,
    q,
)

CONTENT_TYPE = "application/soap+xml; charset=utf-8"
CONNECT_TIMEOUT = 1.5
_AUTH_SUBCODES = {"NotAuthorized", "FailedAuthentication", "InvalidSecurity", "FailedCheck"}


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)  # never in a log line or a traceback's locals


def username_token(credentials: Credentials, now: datetime) -> Element:
    """wsse:Security with a PasswordDigest token: Base64(SHA1(nonce + created + password))."""
    nonce = secrets.token_bytes(16)
    created = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    digest = hashlib.sha1(nonce + created.encode() + credentials.password.encode()).digest()  # noqa: S324
    security = etree.Element(q(WSSE, "Security"), nsmap={"wsse": WSSE, "wsu": WSU})
    security.set(q(SOAP_ENV, "mustUnderstand"), "1")
    token = etree.SubElement(security, q(WSSE, "UsernameToken"))
    etree.SubElement(token, q(WSSE, "Username")).text = credentials.username
    password = etree.SubElement(token, q(WSSE, "Password"), Type=PASSWORD_DIGEST)
    password.text = base64.b64encode(digest).decode()
    nonce_el = etree.SubElement(token, q(WSSE, "Nonce"), EncodingType=NONCE_BASE64)
    nonce_el.text = base64.b64encode(nonce).decode()
    etree.SubElement(token, q(WSU, "Created")).text = created
    return security


def envelope(body: Element, security: Element | None) -> bytes:
    root = etree.Element(q(SOAP_ENV, "Envelope"), nsmap={"s": SOAP_ENV})
    if security is not None:
        etree.SubElement(root, q(SOAP_ENV, "Header")).append(security)
    etree.SubElement(root, q(SOAP_ENV, "Body")).append(body)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _fault(root: Element, status: int) -> OnvifError | None:
    for env in (SOAP_ENV, SOAP11_ENV):
        fault = root.find(f"{q(env, 'Body')}/{q(env, 'Fault')}")
        if fault is None:
            continue
        subcodes = [
            node.text.strip().rpartition(":")[2]
            for node in fault.iter(q(SOAP_ENV, "Value"), "faultcode")
            if node.text and node.text.strip()
        ]
        reason = next(
            (
                node.text.strip()
                for node in fault.iter()
                if local_name(node.tag) in {"Text", "faultstring"} and node.text and node.text.strip()
            ),
            "SOAP fault",
        )
        subcode = subcodes[-1] if subcodes else None
        if subcode in _AUTH_SUBCODES:
            return OnvifAuthError(f"the device refused the credentials ({reason})")
        return OnvifFault(
            f"the device answered a SOAP fault: {subcode or 'Fault'}: {reason}", subcode, status
        )
    return None


_OFF = ": ONVIF is switched off on the device, or not served on this port"


def parse_reply(content: bytes, status: int, url: str) -> Element:
    """The first element in the SOAP Body; raises the device's fault as an OnvifError."""
    try:
        root = etree.fromstring(content, parser())
    except etree.XMLSyntaxError as exc:
        if b"Envelope" in content[:512]:
            # A SOAP reply that breaks off or is mangled: a broken ONVIF answer, not "no ONVIF here".
            raise OnvifProtocolError(f"{url} answered malformed SOAP XML ({exc.msg})") from None
        if status == 401:
            raise OnvifAuthError("the device refused the credentials (HTTP 401)") from None
        raise NotOnvif(f"{url} answered HTTP {status} without a SOAP envelope{_OFF}") from None
    if local_name(root.tag) != "Envelope":
        kind = "a web page" if local_name(root.tag).lower() == "html" else "XML that is not SOAP"
        raise NotOnvif(f"{url} answered HTTP {status} with {kind}{_OFF}")
    fault = _fault(root, status)
    if fault is not None:
        raise fault
    if status == 401:
        raise OnvifAuthError("the device refused the credentials (HTTP 401)")
    body = next((child for child in root if local_name(child.tag) == "Body"), None)
    if body is None or len(body) == 0:
        raise OnvifProtocolError(f"{url} answered a SOAP envelope without a body")
    return body[0]


class SoapCaller:
    """Posts SOAP bodies for one device; holds its credentials and its clock offset."""

    def __init__(self, http: httpx.AsyncClient, credentials: Credentials | None, *, timeout: float) -> None:
        self.http = http
        self.credentials = credentials
        self.timeout = timeout
        self.clock_offset = timedelta(0)
        self._digest = False

    def device_time(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    async def call(self, url: str, body: Element, *, authenticate: bool = True) -> Element:
        signed = authenticate and self.credentials is not None
        security = (
            username_token(self.credentials, self.device_time()) if signed and self.credentials else None
        )
        content = envelope(body, security)
        response = await self._post(url, content, digest=self._digest and signed)
        if (
            response.status_code == 401
            and signed
            and not self._digest
            and "digest" in response.headers.get("WWW-Authenticate", "").lower()
        ):
            # Devices that check HTTP Digest (as well as, or instead of, WS-Security) challenge first.
            self._digest = True
            response = await self._post(url, content, digest=True)
        return parse_reply(response.content, response.status_code, url)

    async def _post(self, url: str, content: bytes, *, digest: bool) -> httpx.Response:
        auth: httpx.Auth = (
            httpx.DigestAuth(self.credentials.username, self.credentials.password)
            if digest and self.credentials is not None
            else httpx.Auth()
        )
        try:
            return await self.http.post(
                url,
                content=content,
                headers={"Content-Type": CONTENT_TYPE},
                auth=auth,
                # On a LAN a live host accepts within milliseconds: don't wait long for absent ones.
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, CONNECT_TIMEOUT)),
            )
        except httpx.ConnectTimeout:
            raise OnvifNoAnswer(f"no answer from {_where(url)} within {self.timeout:g} s") from None
        except httpx.ConnectError as exc:
            reason = _reason(exc)
            error = (
                OnvifPortClosed
                if reason.startswith("connection refused")
                else OnvifNoRoute
                if reason == _NO_ROUTE
                else OnvifUnreachable
            )
            raise error(f"cannot connect to {_where(url)}: {reason}") from None
        except httpx.TimeoutException:
            raise OnvifTimeout(
                f"{_where(url)} accepted the connection but did not answer within {self.timeout:g} s"
            ) from None
        except (httpx.ReadError, httpx.WriteError) as exc:
            # Reset or closed mid-request: a device going down or dropping connections, not a non-HTTP port.
            raise OnvifUnreachable(
                f"{_where(url)} accepted the connection, then dropped it without answering ({_reason(exc)})"
            ) from None
        except httpx.RemoteProtocolError as exc:
            raise NotHttp(
                f"{_where(url)} accepts TCP but does not speak HTTP ({_reason(exc)}): not an ONVIF port; "
                "vendor SDK ports (Hikvision 8000, Dahua 37777) look like this, ONVIF is usually on 80"
            ) from None
        except httpx.HTTPError as exc:
            raise OnvifProtocolError(f"{_where(url)}: {_reason(exc)}") from None


def _where(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.host}:{parsed.port or 80}"


_NO_ROUTE = "no route to host"


def _reason(exc: BaseException) -> str:
    """The operating system's reason, found down the exception chain (httpx wraps it twice)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused — nothing listens on that port"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, OSError) and cause.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH}:
            return _NO_ROUTE
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host name ({cause.strerror})"
        cause = cause.__cause__ or cause.__context__
    return str(exc).strip() or type(exc).__name__


def ter(local: str) -> str:
    return q(TER, local)
