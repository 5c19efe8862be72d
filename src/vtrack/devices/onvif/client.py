"""The ONVIF operations vtrack needs, on one device, with the quirks of real cameras handled in place.

- Clock skew: GetSystemDateAndTime (unauthenticated, as the spec allows) first; every later token is
  signed in the device's time, so a camera whose clock is hours off still accepts the password.
- NAT: devices behind port forwarding advertise their private address in XAddrs and stream URIs. Any
  advertised host that is not the one we reached is replaced by it (the port is kept for RTSP, which is
  forwarded separately; service XAddrs get the port we used too).
- Old firmware without GetServices: fall back to GetCapabilities for the service addresses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from lxml import etree

from vtrack.devices.onvif.errors import OnvifError, OnvifFault, OnvifProtocolError
from vtrack.devices.onvif.models import DeviceInformation, MediaProfile
from vtrack.devices.onvif.namespaces import TDS, TRC, TRP, TRT, TSE, TT, Element, local_name, q, text
from vtrack.devices.onvif.soap import Credentials, SoapCaller

DEVICE_PATH = "/onvif/device_service"
# Capabilities categories of GetCapabilities, by the namespace GetServices would give the same service.
_CATEGORY_NAMESPACES = {"Device": TDS, "Media": TRT, "Recording": TRC, "Search": TSE, "Replay": TRP}
PTZ_NAMESPACE = "http://www.onvif.org/ver20/ptz/wsdl"


def _request(namespace: str, operation: str, **children: str) -> Element:
    node = etree.Element(q(namespace, operation))
    for name, value in children.items():
        etree.SubElement(node, q(namespace, name)).text = value
    return node


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def _find(node: Element, local: str) -> Element | None:
    """First child with this local name in any namespace (vendors put tt: elements in odd namespaces)."""
    return next((child for child in node if local_name(child.tag) == local), None)


def _find_text(node: Element | None, *path: str) -> str | None:
    for local in path:
        if node is None:
            return None
        node = _find(node, local)
    return node.text.strip() if node is not None and node.text else None


class OnvifClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        host: str,
        port: int,
        *,
        username: str | None,
        password: str | None,
        timeout: float,
    ) -> None:
        self.host = host
        self.port = port
        credentials = Credentials(username, password or "") if username else None
        self.soap = SoapCaller(http, credentials, timeout=timeout)
        self.device_url = f"http://{self._netloc(host, port)}{DEVICE_PATH}"
        self.services: dict[str, str] = {TDS: self.device_url}
        self.rewritten = False

    @staticmethod
    def _netloc(host: str, port: int | None) -> str:
        bracketed = f"[{host}]" if ":" in host else host
        return bracketed if port is None else f"{bracketed}:{port}"

    def reachable_url(self, url: str, *, keep_port: bool) -> str:
        """The URL with the host we reached in place of an advertised one that differs (NAT)."""
        parts = urlsplit(url)
        if not parts.hostname or parts.hostname == self.host:
            return url
        self.rewritten = True
        netloc = self._netloc(self.host, parts.port if keep_port else self.port)
        userinfo = parts.netloc.rpartition("@")[0]
        return urlunsplit(parts._replace(netloc=f"{userinfo}@{netloc}" if userinfo else netloc))

    # -- device service --------------------------------------------------------------------------------

    async def sync_clock(self) -> float | None:
        """Measure the device clock against ours; returns the skew in seconds (None: device gave no time)."""
        sent = datetime.now(UTC)
        reply = await self.soap.call(
            self.device_url, _request(TDS, "GetSystemDateAndTime"), authenticate=False
        )
        received = datetime.now(UTC)
        utc = next((node for node in reply.iter() if local_name(node.tag) == "UTCDateTime"), None)
        if utc is None:
            return None
        parts = [_int(_find_text(utc, "Date", p)) for p in ("Year", "Month", "Day")]
        parts += [_int(_find_text(utc, "Time", p)) for p in ("Hour", "Minute", "Second")]
        if any(part is None for part in parts):
            return None
        try:
            year, month, day, hour, minute, second = (int(part or 0) for part in parts)
            device = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            return None
        midpoint = sent + (received - sent) / 2
        # tt:DateTime has whole seconds, cut off: the device's clock read, on average, half a second more.
        offset = device + timedelta(seconds=0.5) - midpoint
        # Within a second is ordinary; don't sign with a sub-second guess that makes things worse.
        self.soap.clock_offset = offset if abs(offset) > timedelta(seconds=1) else timedelta(0)
        return offset.total_seconds()

    async def device_information(self) -> DeviceInformation:
        reply = await self.soap.call(self.device_url, _request(TDS, "GetDeviceInformation"))
        return DeviceInformation(
            manufacturer=_find_text(reply, "Manufacturer"),
            model=_find_text(reply, "Model"),
            firmware=_find_text(reply, "FirmwareVersion"),
            serial=_find_text(reply, "SerialNumber"),
            hardware_id=_find_text(reply, "HardwareId"),
        )

    async def scopes(self) -> list[str]:
        try:
            reply = await self.soap.call(self.device_url, _request(TDS, "GetScopes"))
        except OnvifFault:
            return []
        return [
            node.text.strip()
            for node in reply.iter()
            if local_name(node.tag) == "ScopeItem" and node.text and node.text.strip()
        ]

    async def discover_services(self) -> dict[str, str]:
        """namespace → XAddr, from GetServices, or GetCapabilities on devices that lack it."""
        try:
            reply = await self.soap.call(
                self.device_url, _request(TDS, "GetServices", IncludeCapability="false")
            )
            found = {
                ns: xaddr
                for service in reply
                if local_name(service.tag) == "Service"
                and (ns := _find_text(service, "Namespace"))
                and (xaddr := _find_text(service, "XAddr"))
            }
        except OnvifFault as fault:
            if not fault.not_supported:
                raise
            found = await self._services_from_capabilities()
        self.services.update({ns: self.reachable_url(url, keep_port=False) for ns, url in found.items()})
        return dict(self.services)

    async def _services_from_capabilities(self) -> dict[str, str]:
        reply = await self.soap.call(self.device_url, _request(TDS, "GetCapabilities", Category="All"))
        capabilities = _find(reply, "Capabilities")
        if capabilities is None:
            raise OnvifProtocolError("GetCapabilities answered without Capabilities")
        found: dict[str, str] = {}
        for category in capabilities.iter():
            name = local_name(category.tag)
            xaddr = _find_text(category, "XAddr")
            if xaddr and name in _CATEGORY_NAMESPACES:
                found[_CATEGORY_NAMESPACES[name]] = xaddr
            elif xaddr and name == "PTZ":
                found[PTZ_NAMESPACE] = xaddr
        return found

    # -- media service ---------------------------------------------------------------------------------

    def _media_url(self) -> str:
        url = self.services.get(TRT)
        if url is None:
            raise OnvifError("the device offers no media service (not an ONVIF Profile S video device)")
        return url

    async def profiles(self) -> list[MediaProfile]:
        reply = await self.soap.call(self._media_url(), _request(TRT, "GetProfiles"))
        return [_profile(node) for node in reply if local_name(node.tag) == "Profiles"]

    async def stream_uri(self, profile_token: str) -> str | None:
        body = _request(TRT, "GetStreamUri")
        setup = etree.SubElement(body, q(TRT, "StreamSetup"))
        etree.SubElement(setup, q(TT, "Stream")).text = "RTP-Unicast"
        transport = etree.SubElement(setup, q(TT, "Transport"))
        etree.SubElement(transport, q(TT, "Protocol")).text = "RTSP"
        etree.SubElement(body, q(TRT, "ProfileToken")).text = profile_token
        reply = await self.soap.call(self._media_url(), body)
        uri = text(reply, (TRT, "MediaUri"), (TT, "Uri")) or _find_text(reply, "MediaUri", "Uri")
        return self.reachable_url(uri, keep_port=True) if uri else None

    async def snapshot_uri(self, profile_token: str) -> str | None:
        try:
            reply = await self.soap.call(
                self._media_url(), _request(TRT, "GetSnapshotUri", ProfileToken=profile_token)
            )
        except OnvifFault:
            return None  # snapshots are optional in Profile S
        uri = _find_text(reply, "MediaUri", "Uri")
        return self.reachable_url(uri, keep_port=False) if uri else None


def _profile(node: Element) -> MediaProfile:
    source = _find(node, "VideoSourceConfiguration")
    encoder = _find(node, "VideoEncoderConfiguration")
    return MediaProfile(
        token=node.get("token", ""),
        name=_find_text(node, "Name") or node.get("token") or "",
        source_token=_find_text(source, "SourceToken") if source is not None else None,
        encoding=_find_text(encoder, "Encoding") if encoder is not None else None,
        width=_int(_find_text(encoder, "Resolution", "Width")) if encoder is not None else None,
        height=_int(_find_text(encoder, "Resolution", "Height")) if encoder is not None else None,
        fps=_int(_find_text(encoder, "RateControl", "FrameRateLimit")) if encoder is not None else None,
        has_ptz=_find(node, "PTZConfiguration") is not None,
        has_audio=_find(node, "AudioEncoderConfiguration") is not None,
    )
