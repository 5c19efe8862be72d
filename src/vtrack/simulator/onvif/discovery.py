"""WS-Discovery (2005/04, as ONVIF uses it) target service for the simulated devices.

Probes arrive two ways: unicast to HOST:port (what vtrack's own discovery and `--host` scans send, and what
works across routed subnets) and multicast to 239.255.255.250:port. The multicast socket is bound to the
group address and joined only on the interface of the bind host — for 127.0.0.x that is the loopback
interface — so a simulator on loopback never hears or answers anything from a real network. Each matching
device answers with its own ProbeMatches message (real cameras are separate hosts), unicast to the prober,
after a random delay for multicast probes as the spec asks. Hello on start and Bye on stop go to the group.

Replies only ever go to the datagram's source address (never to a ReplyTo in the message), and a
responder bound to loopback ignores datagrams from non-loopback sources.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import socket
import struct
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from urllib.parse import urlsplit

from lxml import etree

from vtrack.simulator.onvif.device import Device, is_loopback_host
from vtrack.simulator.onvif.xmlns import DN, SOAP_ENV, TDS, WSA_DISCOVERY, WSD, Element, safe_parser

log = logging.getLogger(__name__)

DISCOVERY_PORT = 3702
MULTICAST_GROUP = "239.255.255.250"
APP_MAX_DELAY = 0.5  # seconds; WS-Discovery's APP_MAX_DELAY for answers to multicast probes

ACTION_PROBE = f"{WSD}/Probe"
ACTION_PROBE_MATCHES = f"{WSD}/ProbeMatches"
ACTION_HELLO = f"{WSD}/Hello"
ACTION_BYE = f"{WSD}/Bye"
TO_ANONYMOUS = f"{WSA_DISCOVERY}/role/anonymous"
TO_DISCOVERY = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
MATCH_BY_STRCMP0 = f"{WSD}/strcmp0"
_MATCH_BY_URI = (f"{WSD}/rfc2396", "http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc3986")

DEVICE_TYPES = frozenset({(DN, "NetworkVideoTransmitter"), (TDS, "Device")})
_NSMAP = {"s": SOAP_ENV, "a": WSA_DISCOVERY, "d": WSD, "dn": DN, "tds": TDS}
_IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)  # Linux: only deliver groups this socket joined
_SEEN_IDS = 256


def _q(prefix: str, local: str) -> str:
    return f"{{{_NSMAP[prefix]}}}{local}"


def _sub(parent: Element, prefix: str, local: str, text: str | None = None, **attrs: str) -> Element:
    node = etree.SubElement(parent, _q(prefix, local), attrs)
    if text is not None:
        node.text = text
    return node


def scope_matches(wanted: str, offered: str, match_by: str | None) -> bool:
    """WS-Discovery scope matching: RFC 3986 segment-wise prefix (the default) or exact strcmp0."""
    if match_by == MATCH_BY_STRCMP0:
        return wanted == offered
    if match_by and match_by not in _MATCH_BY_URI:
        return False
    w, o = urlsplit(wanted), urlsplit(offered)
    if (w.scheme.lower(), w.netloc.lower()) != (o.scheme.lower(), o.netloc.lower()):
        return False
    w_segments = [s for s in w.path.split("/") if s]
    o_segments = [s for s in o.path.split("/") if s]
    return o_segments[: len(w_segments)] == w_segments


def parse_types(node: Element | None) -> set[tuple[str, str]]:
    """QNames of a d:Types list, resolved against the namespaces in scope at that element."""
    if node is None or not node.text:
        return set()
    types = set()
    for item in node.text.split():
        prefix, _, local = item.rpartition(":")
        namespace = node.nsmap.get(prefix or None, "")
        types.add((namespace or "", local))
    return types


class DiscoveryResponder:
    """Answers Probes for `devices` on host:port (0: a free port) and, when it can, on the multicast group."""

    def __init__(
        self,
        devices: Sequence[Device],
        host: str,
        port: int = DISCOVERY_PORT,
        *,
        multicast: bool = True,
        announce: bool = True,
        max_delay: float = APP_MAX_DELAY,
    ) -> None:
        self.devices = devices
        self.host = host
        self.port = port
        self.multicast = multicast
        self.announce = announce
        self.max_delay = max_delay
        self.multicast_joined = False
        self._interface = self._interface_address(host)
        self._loopback_only = is_loopback_host(host)
        self._unicast: asyncio.DatagramTransport | None = None
        self._group: asyncio.DatagramTransport | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._instance_id = str(int(time.time()))
        self._message_number = 0
        self._pending: set[asyncio.TimerHandle] = set()

    @staticmethod
    def _interface_address(host: str) -> str:
        if is_loopback_host(host):
            return "127.0.0.1"  # the loopback interface's own address names it for IP_ADD_MEMBERSHIP
        return socket.gethostbyname(host)  # an address of the interface to join on; 0.0.0.0: the default one

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
            self.port = sock.getsockname()[1]
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self._interface))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        except OSError:
            sock.close()
            raise
        self._unicast, _ = await loop.create_datagram_endpoint(lambda: _Endpoint(self, False), sock=sock)
        if self.multicast:
            await self._join_group(loop)
        log.info(
            "WS-Discovery on %s:%s for %d device(s), multicast %s",
            self.host,
            self.port,
            len(self.devices),
            "joined" if self.multicast_joined else "off",
        )
        if self.announce:
            for device in self._online():
                self._send_group(self._hello(device))

    async def _join_group(self, loop: asyncio.AbstractEventLoop) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if sys.platform.startswith("linux"):
                sock.setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)
            sock.bind((MULTICAST_GROUP, self.port))
            membership = struct.pack(
                "4s4s", socket.inet_aton(MULTICAST_GROUP), socket.inet_aton(self._interface)
            )
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        except OSError as exc:
            sock.close()
            log.warning("WS-Discovery multicast unavailable on %s (%s); unicast probes only", self.host, exc)
            return
        self._group, _ = await loop.create_datagram_endpoint(lambda: _Endpoint(self, True), sock=sock)
        self.multicast_joined = True

    async def stop(self) -> None:
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
        if self.announce and self._unicast is not None:
            for device in self._online():
                self._send_group(self._bye(device))
        for transport in (self._group, self._unicast):
            if transport is not None:
                transport.close()
        self._group = self._unicast = None
        self.multicast_joined = False
        await asyncio.sleep(0)  # let the transports finish closing

    def _online(self) -> list[Device]:
        """Devices that answer discovery: not offline, and with ONVIF (hence WS-Discovery) switched on."""
        return [
            device
            for device in self.devices
            if not device.faults.offline and not device.faults.onvif_disabled
        ]

    def _send_group(self, data: bytes) -> None:
        if self._unicast is not None:
            self._unicast.sendto(data, (MULTICAST_GROUP, self.port))

    # --- receiving -------------------------------------------------------------------------------------

    def on_datagram(self, data: bytes, source: tuple[str, int], via_group: bool) -> None:
        if self._loopback_only and not ipaddress.ip_address(source[0]).is_loopback:
            return
        try:
            root = etree.fromstring(data, parser=safe_parser())
        except etree.XMLSyntaxError:
            log.debug("ignoring a datagram from %s that is not XML", source)
            return
        header = root.find(f"{{{SOAP_ENV}}}Header")
        probe = root.find(f"{{{SOAP_ENV}}}Body/{{{WSD}}}Probe")
        if (
            header is None
            or probe is None
            or (header.findtext(_q("a", "Action")) or "").strip() != ACTION_PROBE
        ):
            return
        message_id = (header.findtext(_q("a", "MessageID")) or "").strip()
        if message_id in self._seen:
            return  # SOAP-over-UDP repeats every message; answer once
        self._seen[message_id] = None
        while len(self._seen) > _SEEN_IDS:
            self._seen.popitem(last=False)
        wanted_types = parse_types(probe.find(_q("d", "Types")))
        scopes_el = probe.find(_q("d", "Scopes"))
        wanted_scopes = (scopes_el.text or "").split() if scopes_el is not None else []
        match_by = scopes_el.get("MatchBy") if scopes_el is not None else None
        for device in self._online():
            if not wanted_types <= DEVICE_TYPES:
                continue
            offered = device.scopes()
            if not all(any(scope_matches(w, o, match_by) for o in offered) for w in wanted_scopes):
                continue
            delay = device.faults.slow_seconds
            if via_group and self.max_delay > 0:
                delay += secrets.randbelow(int(self.max_delay * 1000) + 1) / 1000
            self._reply_later(delay, self._probe_matches(device, message_id), source)

    def _reply_later(self, delay: float, data: bytes, destination: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()

        def send() -> None:
            self._pending.discard(handle)
            if self._unicast is not None:
                self._unicast.sendto(data, destination)

        handle = loop.call_later(delay, send)
        self._pending.add(handle)

    # --- messages --------------------------------------------------------------------------------------

    def _envelope(self, action: str, to: str, relates_to: str | None = None) -> tuple[Element, Element]:
        root = etree.Element(_q("s", "Envelope"), nsmap=_NSMAP)
        header = _sub(root, "s", "Header")
        _sub(header, "a", "MessageID", uuid.uuid4().urn)
        if relates_to is not None:
            _sub(header, "a", "RelatesTo", relates_to)
        _sub(header, "a", "To", to)
        _sub(header, "a", "Action", action)
        self._message_number += 1
        _sub(
            header, "d", "AppSequence", InstanceId=self._instance_id, MessageNumber=str(self._message_number)
        )
        return root, _sub(root, "s", "Body")

    @staticmethod
    def _describe(parent: Element, device: Device, full: bool = True) -> None:
        epr = _sub(parent, "a", "EndpointReference")
        _sub(epr, "a", "Address", f"urn:uuid:{device.uuid}")
        if not full:
            return
        _sub(parent, "d", "Types", "dn:NetworkVideoTransmitter tds:Device")
        _sub(parent, "d", "Scopes", " ".join(device.scopes()))
        _sub(parent, "d", "XAddrs", device.xaddr("device"))
        _sub(parent, "d", "MetadataVersion", "1")

    def _probe_matches(self, device: Device, relates_to: str) -> bytes:
        root, body = self._envelope(ACTION_PROBE_MATCHES, TO_ANONYMOUS, relates_to)
        self._describe(_sub(_sub(body, "d", "ProbeMatches"), "d", "ProbeMatch"), device)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    def _hello(self, device: Device) -> bytes:
        root, body = self._envelope(ACTION_HELLO, TO_DISCOVERY)
        self._describe(_sub(body, "d", "Hello"), device)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    def _bye(self, device: Device) -> bytes:
        root, body = self._envelope(ACTION_BYE, TO_DISCOVERY)
        self._describe(_sub(body, "d", "Bye"), device, full=False)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, responder: DiscoveryResponder, via_group: bool) -> None:
        self.responder = responder
        self.via_group = via_group

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        host, port = addr[0], addr[1]
        if isinstance(host, str) and isinstance(port, int):
            self.responder.on_datagram(data, (host, port), self.via_group)

    def error_received(self, exc: Exception) -> None:
        log.debug("WS-Discovery socket error: %s", exc)
