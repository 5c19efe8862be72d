"""What the vendor HTTP clients (Hikvision ISAPI, Dahua CGI) share: login, errors and the shapes they return.

Cameras and NVRs protect their HTTP APIs with Digest; a few old or OEM firmwares only offer Basic. One
`CameraAuth` per device answers whichever the device asks for and keeps the Digest challenge, so only the
first request of a client pays the extra 401 round trip. `VendorApi` turns transport failures and refusals
into DeviceErrors whose `kind` the API and CLI act on, and whose message an installer can read.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import httpx

from vtrack.devices.errors import DeviceError

log = logging.getLogger(__name__)

Vendor = Literal["hikvision", "dahua"]
VENDOR_NAMES: dict[Vendor, str] = {"hikvision": "Hikvision", "dahua": "Dahua"}
DEFAULT_TIMEOUT = 10.0
DEFAULT_RTSP_PORT = 554


class VendorError(DeviceError):
    """A vendor API call failed; kind: unreachable, timeout, auth, not_found or protocol."""


class VendorAuthError(VendorError):
    """The device refused the username and password (HTTP 401 after answering its challenge)."""

    kind = "auth"


@dataclass(frozen=True)
class VendorDeviceInfo:
    vendor: Vendor
    manufacturer: str
    model: str
    serial: str
    firmware: str
    device_type: str  # "IPCamera" or "NVR" (Hikvision's words; Dahua's classes are mapped onto them)
    name: str


@dataclass(frozen=True)
class VendorChannel:
    channel: int
    name: str
    main_stream_url: str  # without credentials: they live in the registry, encrypted
    sub_stream_url: str | None
    snapshot_url: str
    codec: str | None  # h264, h265, mpeg4, mjpeg, ...
    resolution: str | None  # "1920x1080"
    fps: int | None


@dataclass(frozen=True)
class VendorDevice:
    info: VendorDeviceInfo
    channels: list[VendorChannel] = field(default_factory=list)


def normalise_codec(name: str | None) -> str | None:
    """Vendor codec names ("H.264", "H.265", "MPEG4", "MJPG", "H.264H") as vtrack's (h264, h265, ...)."""
    if not name:
        return None
    compact = name.strip().lower().replace(".", "").replace("-", "")
    for prefix, codec in (("h264", "h264"), ("h265", "h265"), ("hevc", "h265"), ("mpeg4", "mpeg4")):
        if compact.startswith(prefix):
            return codec
    return "mjpeg" if compact in {"mjpg", "mjpeg"} else compact or None


class CameraAuth(httpx.Auth):
    """Digest, or Basic when the device's challenge offers only Basic; remembers which one worked."""

    def __init__(self, username: str, password: str) -> None:
        self._digest = httpx.DigestAuth(username, password)
        self._basic = httpx.BasicAuth(username, password)
        self._use_basic = False

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._use_basic:
            yield from self._basic.auth_flow(request)
            return
        flow = self._digest.auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            if response.status_code == 401 and _offers_only_basic(response):
                log.debug("%s offers Basic auth only; using it", request.url.host)
                self._use_basic = True
                yield from self._basic.auth_flow(request)
                return
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return


def _offers_only_basic(response: httpx.Response) -> bool:
    schemes = {
        value.strip().split(" ", 1)[0].lower() for value in response.headers.get_list("www-authenticate")
    }
    return "basic" in schemes and "digest" not in schemes


def url_host(host: str) -> str:
    """A host as it goes into a URL: IPv6 addresses in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class VendorApi:
    """One device's HTTP API: base URL, login and timeout, with failures raised as VendorErrors."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        username: str,
        password: str,
        *,
        vendor: Vendor,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.vendor = vendor
        self.timeout = timeout
        self.auth = CameraAuth(username, password)
        parts = urlsplit(self.base_url)
        self.host = parts.hostname or ""
        self.where = f"{VENDOR_NAMES[vendor]} device at {parts.netloc}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        """GET `path`; raises on no answer and on refused credentials, returns every other answer."""
        try:
            response = await self.http.get(
                self.url(path), params=params, auth=self.auth, timeout=self.timeout
            )
        except httpx.ConnectTimeout as error:
            raise VendorError(
                f"the {self.where} did not answer within {self.timeout:g} s", "timeout"
            ) from error
        except httpx.ConnectError as error:
            raise VendorError(f"the {self.where} cannot be reached: {error}", "unreachable") from error
        except httpx.TimeoutException as error:
            raise VendorError(f"the {self.where} stopped answering ({path})", "timeout") from error
        except httpx.HTTPError as error:
            raise VendorError(
                f"the {self.where} sent something that is not HTTP ({error})", "protocol"
            ) from error
        if response.status_code == 401:
            raise VendorAuthError(
                f"the {self.where} refused user {self.username!r}: check the username and password "
                "(devices lock a user out for a while after several wrong passwords)"
            )
        return response

    async def get_ok(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        """GET `path` and insist on 200."""
        response = await self.get(path, params)
        if response.status_code == 404:
            raise VendorError(f"the {self.where} does not offer {path}", "not_found")
        if response.status_code != 200:
            raise VendorError(
                f"the {self.where} answered {path} with HTTP {response.status_code}", "protocol"
            )
        return response

    async def jpeg(self, path: str, params: dict[str, str] | None = None) -> bytes:
        response = await self.get_ok(path, params)
        if not response.content.startswith(b"\xff\xd8"):
            kind = response.headers.get("content-type", "?")
            raise VendorError(f"the {self.where} sent {kind}, not a JPEG, for {path}", "protocol")
        return response.content


def optional_int(value: str | None) -> int | None:
    """A number from a vendor document, or None when it is missing or not a number."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class VendorClient:
    """What both vendor clients are built from: the device's API, and an RTSP port the caller may know."""

    vendor: Vendor

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        rtsp_port: int | None = None,
    ) -> None:
        self.api = VendorApi(http, base_url, username, password, vendor=self.vendor, timeout=timeout)
        self._rtsp_port = rtsp_port
