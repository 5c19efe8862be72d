"""WS-Discovery (2005/04, as ONVIF uses it) from the searching side: multicast and directed unicast Probes.

One socket sends every Probe and hears every ProbeMatches, which devices send back unicast to the
Probe's source address. Two Probes go out to each destination, one for dn:NetworkVideoTransmitter and one
for tds:Device: some cameras only match the first, some NVRs only the second. Multicast goes out on the
interface of `interface` (a loopback address keeps a test on loopback) with TTL 1, as the spec's
link-local scope asks; unicast Probes go straight to HOST:3702, which also reaches devices on routed
subnets that multicast cannot. Replies are matched to our Probes by RelatesTo and de-duplicated by
endpoint reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from lxml import etree

from vtrack.devices.onvif.namespaces import DN, SOAP_ENV, TDS, WSA, WSD, parser, q

DISCOVERY_PORT = 3702
MULTICAST_GROUP = "239.255.255.250"
PROBE_TYPES = ((DN, "NetworkVideoTransmitter"), (TDS, "Device"))
_TO_DISCOVERY = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"

log = logging.getLogger(__name__)


@dataclass
class ProbeMatch:
    endpoint: str  # urn:uuid:... — the device's stable identity
    address: str  # the IP the reply came from
    xaddrs: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        return scope_value(self.scopes, "name")

    @property
    def hardware(self) -> str | None:
        return scope_value(self.scopes, "hardware")

    def device_service(self) -> tuple[str, int] | None:
        """(host, port) of the first XAddr, with the reply's address in place of an unreachable one (NAT)."""
        for xaddr in self.xaddrs:
            parts = urlsplit(xaddr)
            if parts.scheme in {"http", "https"} and parts.hostname:
                return self.address, parts.port or (443 if parts.scheme == "https" else 80)
        return None


def scope_value(scopes: Iterable[str], key: str) -> str | None:
    prefix = f"onvif://www.onvif.org/{key}/"
    for scope in scopes:
        if scope.startswith(prefix):
            return unquote(scope[len(prefix) :]).strip() or None
    return None


def probe_message(message_id: str, type_ns: str, type_local: str) -> bytes:
    root = etree.Element(
        q(SOAP_ENV, "Envelope"), nsmap={"s": SOAP_ENV, "a": WSA, "d": WSD, "dn": DN, "tds": TDS}
    )
    header = etree.SubElement(root, q(SOAP_ENV, "Header"))
    etree.SubElement(header, q(WSA, "MessageID")).text = message_id
    etree.SubElement(header, q(WSA, "To")).text = _TO_DISCOVERY
    etree.SubElement(header, q(WSA, "Action")).text = f"{WSD}/Probe"
    probe = etree.SubElement(etree.SubElement(root, q(SOAP_ENV, "Body")), q(WSD, "Probe"))
    prefix = "dn" if type_ns == DN else "tds"
    etree.SubElement(probe, q(WSD, "Types")).text = f"{prefix}:{type_local}"
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def parse_probe_matches(data: bytes, address: str) -> tuple[str | None, list[ProbeMatch]]:
    """(RelatesTo, matches) of a ProbeMatches message; ([], None) for anything else."""
    try:
        root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError:
        return None, []
    relates_to = root.findtext(f"{q(SOAP_ENV, 'Header')}/{q(WSA, 'RelatesTo')}")
    matches = []
    for node in root.iter(q(WSD, "ProbeMatch")):
        endpoint = node.findtext(f"{q(WSA, 'EndpointReference')}/{q(WSA, 'Address')}")
        if not endpoint:
            continue
        matches.append(
            ProbeMatch(
                endpoint=endpoint.strip(),
                address=address,
                xaddrs=(node.findtext(q(WSD, "XAddrs")) or "").split(),
                types=(node.findtext(q(WSD, "Types")) or "").split(),
                scopes=(node.findtext(q(WSD, "Scopes")) or "").split(),
            )
        )
    return (relates_to.strip() if relates_to else None), matches


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, sent: set[str]) -> None:
        self.sent = sent
        self.matches: dict[str, ProbeMatch] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        relates_to, matches = parse_probe_matches(data, str(addr[0]))
        if relates_to not in self.sent:
            return  # a Hello, a Bye, or somebody else's answer
        for match in matches:
            self.matches.setdefault(match.endpoint, match)

    def error_received(self, exc: Exception) -> None:
        log.debug("WS-Discovery socket error: %s", exc)


async def ws_discover(
    *,
    unicast_hosts: Iterable[str] = (),
    multicast: bool = True,
    interface: str = "0.0.0.0",  # noqa: S104 (the default route's interface, as the OS picks it)
    port: int = DISCOVERY_PORT,
    wait: float = 2.0,
) -> list[ProbeMatch]:
    """Send Probes and collect ProbeMatches for `wait` seconds (the spec's answer window is up to 0.5 s)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((interface, 0))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        if interface != "0.0.0.0":  # noqa: S104
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    sent: set[str] = set()
    transport, collector = await loop.create_datagram_endpoint(lambda: _Collector(sent), sock=sock)
    destinations = [(host, port) for host in unicast_hosts]
    if multicast:
        destinations.append((MULTICAST_GROUP, port))
    try:
        for type_ns, type_local in PROBE_TYPES:
            message_id = f"urn:uuid:{uuid.uuid4()}"
            sent.add(message_id)
            data = probe_message(message_id, type_ns, type_local)
            for destination in destinations:
                with contextlib.suppress(OSError):  # an unroutable host must not end the sweep
                    transport.sendto(data, destination)
                await asyncio.sleep(0)
        await asyncio.sleep(wait)
    finally:
        transport.close()
    return list(collector.matches.values())
