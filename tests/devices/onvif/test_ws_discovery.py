"""ws_discover() against two independent responders: the WSDiscovery package's publisher and the simulator.

Everything stays on loopback: the probing socket is bound to 127.0.0.1 and multicast leaves through the
loopback interface (IP_MULTICAST_IF 127.0.0.1, TTL 1); responders bind 127.0.0.x or the group address on a
free port of their own, never 3702. The publisher is python-ws-discovery 2.1.2's ThreadedWSPublishing with
only its sockets changed (as tests/simulator/onvif/wsdiscovery_peer.py does for its client): its message
building, type and scope matching and reply timing are the library's.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from lxml import etree
from wsdiscovery.publishing import ThreadedWSPublishing
from wsdiscovery.qname import QName
from wsdiscovery.scope import Scope
from wsdiscovery.threaded import MULTICAST_IPV4_ADDRESS, NetworkingThreadIPv4
from wsdiscovery.udp import MULTICAST_UDP_REPEAT

from tests.devices.onvif import HOST, PASSWORD, USERNAME, device_ports, discovery_port, free_udp_port, site
from tests.simulator.onvif.wsdiscovery_peer import _LoopbackAddresses
from vtrack.devices.onvif.discovery import (
    MULTICAST_GROUP,
    ProbeMatch,
    parse_probe_matches,
    probe_message,
    ws_discover,
)
from vtrack.devices.onvif.namespaces import DN, SOAP_ENV, TDS, WSA, WSD
from vtrack.devices.scan import ScanOptions, discover
from vtrack.simulator.onvif.device import UNREACHABLE_HOST

NVT = QName(DN, "NetworkVideoTransmitter")
DEVICE = QName(TDS, "Device")
SCOPES = [
    "onvif://www.onvif.org/type/video_encoder",
    "onvif://www.onvif.org/name/Library%20Cam",
    "onvif://www.onvif.org/hardware/LC-100",
]
_IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)


class _PublisherNetworking(NetworkingThreadIPv4):
    """The library's networking thread with its receive socket on `bind` (a loopback address, or the
    group address for multicast) instead of 0.0.0.0:3702, and its unicast socket on 127.0.0.1."""

    def __init__(self, observer: Any, bind: tuple[str, int]) -> None:
        super().__init__(observer)
        self._bind = bind

    def _createMulticastInSocket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if sys.platform.startswith("linux"):
            sock.setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)  # only the group it joined
        sock.bind(self._bind)
        sock.setblocking(False)
        return sock

    def start(self) -> None:
        super().start()
        self._uniOutSocket.bind(("127.0.0.1", 0))


class LoopbackPublisher(ThreadedWSPublishing):  # type: ignore[misc]
    """Publishes on `bind`; its Hello and Bye go to the group on `bind`'s port over loopback, not 3702."""

    def __init__(self, bind: tuple[str, int]) -> None:
        self._bind = bind
        super().__init__(uuid_=uuid.uuid4().urn)

    def _startThreads(self) -> None:
        if self._networkingThread_v4 is not None:
            return
        self._networkingThread_v4 = _PublisherNetworking(self, self._bind)
        self._networkingThread_v4.start()
        self._addrsMonitorThread_v4 = _LoopbackAddresses(self, socket.AF_INET)
        self._addrsMonitorThread_v4.start()

    def sendMulticastMessage(
        self, env: Any, initialDelay: int = 0, multicast_num: int = MULTICAST_UDP_REPEAT
    ) -> None:
        self._networkingThread_v4.addMulticastMessage(
            env, MULTICAST_IPV4_ADDRESS, self._bind[1], initialDelay, multicast_num
        )


@contextmanager
def publisher(bind: tuple[str, int], types: list[QName], xaddrs: list[str]) -> Iterator[LoopbackPublisher]:
    wsd = LoopbackPublisher(bind)
    wsd.start()
    try:
        wsd.publishService(types, [Scope(s) for s in SCOPES], xaddrs)
        yield wsd
    finally:
        wsd.stop()


def loopback_multicast_or_skip() -> None:
    """Joining the group on the loopback interface needs multicast on `lo`; skip where it is off."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((MULTICAST_GROUP, 0))
            membership = struct.pack("4s4s", socket.inet_aton(MULTICAST_GROUP), socket.inet_aton("127.0.0.1"))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        except OSError as exc:
            pytest.skip(f"no multicast on the loopback interface here: {exc}")


def xaddr(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}/onvif/device_service"


@pytest.mark.parametrize("types", [[NVT], [DEVICE]], ids=["NetworkVideoTransmitter", "tds-Device"])
async def test_unicast_probe_finds_the_wsdiscovery_publisher(types: list[QName]) -> None:
    """Both Probe types go out: a device that matches only one of them is still found."""
    port = free_udp_port()
    with publisher(("127.0.0.1", port), types, [xaddr(8123)]) as wsd:
        matches = await ws_discover(
            unicast_hosts=["127.0.0.1"], multicast=False, interface="127.0.0.1", port=port, wait=1.0
        )
    [match] = matches
    assert match.endpoint == wsd.uuid
    assert match.address == "127.0.0.1"
    assert match.xaddrs == [xaddr(8123)]
    assert match.scopes == SCOPES
    assert (match.name, match.hardware) == ("Library Cam", "LC-100")
    assert match.device_service() == ("127.0.0.1", 8123)
    assert any(t.endswith(":NetworkVideoTransmitter" if types == [NVT] else ":Device") for t in match.types)


async def test_multicast_probe_on_loopback_finds_the_wsdiscovery_publisher() -> None:
    loopback_multicast_or_skip()
    port = free_udp_port()
    with publisher((MULTICAST_GROUP, port), [NVT], [xaddr(8124)]) as wsd:
        started = time.monotonic()
        matches = await ws_discover(multicast=True, interface="127.0.0.1", port=port, wait=1.0)
        assert time.monotonic() - started < 2.0
    assert [(m.endpoint, m.xaddrs, m.name) for m in matches] == [(wsd.uuid, [xaddr(8124)], "Library Cam")]


async def test_discover_interrogates_a_camera_found_only_by_the_publishers_answer() -> None:
    """The simulator answers no WS-Discovery here; the library's publisher announces its device, and the
    sweep (with no hosts and no ports of its own) reaches the camera through the XAddr alone. The camera is
    on 127.0.0.1, the address the publisher answers from: the sweep trusts the answer's source address over
    the advertised host (what makes NAT work)."""
    loopback_multicast_or_skip()
    port = free_udp_port()
    async with site(1, host="127.0.0.1") as sim:
        device_port = device_ports(sim)[0]
        with publisher((MULTICAST_GROUP, port), [NVT], [xaddr(device_port)]):
            options = ScanOptions(
                username=USERNAME,
                password=PASSWORD,
                interface="127.0.0.1",
                ws_discovery_port=port,
                ws_wait=1.0,
            )
            result = await discover(hosts=None, ports=[], options=options)
    assert result.ws_discovery == 1 and result.scanned == 1
    [camera] = result.cameras
    assert (camera.name, camera.onvif_port, camera.host) == ("Front Door Camera", device_port, "127.0.0.1")


async def test_multicast_probe_finds_every_simulated_device() -> None:
    loopback_multicast_or_skip()
    async with site(3, discovery=True) as sim:
        responder = sim.devices.discovery
        assert responder is not None
        if not responder.multicast_joined:
            pytest.skip("the simulator could not join the group on loopback")
        matches = await ws_discover(multicast=True, interface="127.0.0.1", port=discovery_port(sim), wait=1.0)
        ports = device_ports(sim)
    found = sorted((m.device_service(), m.name) for m in matches)
    names = ["Front Door Camera", "Parking Lot Camera", "Warehouse Camera"]
    assert found == sorted(((HOST, p), n) for p, n in zip(ports, names, strict=True))
    assert len({m.endpoint for m in matches}) == 3


async def test_nat_xaddrs_are_replaced_by_the_address_that_answered() -> None:
    async with site(1, discovery=True, wrong_xaddrs=True) as sim:
        [match] = await ws_discover(
            unicast_hosts=[HOST], multicast=False, interface="127.0.0.1", port=discovery_port(sim), wait=0.5
        )
        port = device_ports(sim)[0]
    assert match.xaddrs == [f"http://{UNREACHABLE_HOST}:{port}/onvif/device_service"]
    assert match.device_service() == (HOST, port)


async def test_switched_off_and_offline_devices_do_not_answer() -> None:
    async with site(1, discovery=True, onvif_disabled=True) as sim:
        matches = await ws_discover(
            unicast_hosts=[HOST], multicast=False, interface="127.0.0.1", port=discovery_port(sim), wait=0.3
        )
    assert matches == []


# -- a responder that answers with junk ---------------------------------------------------------------


def probe_matches(relates_to: str, endpoint: str, action: str = f"{WSD}/ProbeMatches") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:a="{WSA}" xmlns:d="{WSD}"><s:Header>'
        f"<a:Action>{action}</a:Action><a:MessageID>{uuid.uuid4().urn}</a:MessageID>"
        f"<a:RelatesTo>{relates_to}</a:RelatesTo></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>"
        f"<a:EndpointReference><a:Address>{endpoint}</a:Address></a:EndpointReference>"
        f"<d:Types>dn:NetworkVideoTransmitter</d:Types><d:XAddrs>http://127.0.0.1:9/onvif/device_service"
        f"</d:XAddrs></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"
    ).encode()


class _Junk(asyncio.DatagramProtocol):
    """Answers each Probe with garbage, a stranger's ProbeMatches, an entity bomb, then one real answer."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        message_id = etree.fromstring(data).findtext(f"{{{SOAP_ENV}}}Header/{{{WSA}}}MessageID") or ""
        bomb = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><x>&b;</x>'
        for reply in (
            b"\x00\x01 not xml",
            bomb,
            probe_matches(uuid.uuid4().urn, "urn:uuid:stranger"),
            probe_matches(message_id, "urn:uuid:real"),
        ):
            self.transport.sendto(reply, addr)


@asynccontextmanager
async def junk_responder() -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Junk, local_addr=("127.0.0.1", 0))
    try:
        yield int(transport.get_extra_info("sockname")[1])
    finally:
        transport.close()


async def test_only_answers_to_our_own_probes_count() -> None:
    async with junk_responder() as port:
        matches = await ws_discover(
            unicast_hosts=["127.0.0.1"], multicast=False, interface="127.0.0.1", port=port, wait=0.3
        )
    assert [m.endpoint for m in matches] == ["urn:uuid:real"]  # once, though both probes were answered


async def test_a_silent_address_gives_nothing_after_the_wait() -> None:
    started = time.monotonic()
    matches = await ws_discover(
        unicast_hosts=["127.0.77.9"], multicast=False, interface="127.0.0.1", port=free_udp_port(), wait=0.2
    )
    assert matches == [] and time.monotonic() - started < 1.0


# -- messages ---------------------------------------------------------------------------------------------


def test_probe_message_declares_the_prefixes_of_its_types() -> None:
    for namespace, local in ((DN, "NetworkVideoTransmitter"), (TDS, "Device")):
        root = etree.fromstring(probe_message("urn:uuid:1", namespace, local))
        types = root.find(f"{{{SOAP_ENV}}}Body/{{{WSD}}}Probe/{{{WSD}}}Types")
        assert types is not None and types.text is not None
        prefix, _, name = types.text.partition(":")
        assert (types.nsmap[prefix], name) == (namespace, local)
        assert root.findtext(f"{{{SOAP_ENV}}}Header/{{{WSA}}}MessageID") == "urn:uuid:1"


def test_parse_probe_matches_ignores_matches_without_an_endpoint() -> None:
    data = probe_matches("urn:uuid:x", "").replace(b"<a:Address></a:Address>", b"")
    assert parse_probe_matches(data, "127.0.0.1") == ("urn:uuid:x", [])
    assert parse_probe_matches(b"<<<", "127.0.0.1") == (None, [])


def test_device_service_picks_the_first_http_xaddr() -> None:
    match = ProbeMatch(
        "urn:uuid:1",
        "127.0.0.5",
        xaddrs=["soap.udp://10.0.0.1:3702", "http://10.0.0.1/onvif/device_service", "http://[fe80::1]:81/"],
    )
    assert match.device_service() == ("127.0.0.5", 80)
    assert ProbeMatch("urn:uuid:2", "127.0.0.5", xaddrs=["https://cam/onvif"]).device_service() == (
        "127.0.0.5",
        443,
    )
    assert ProbeMatch("urn:uuid:3", "127.0.0.5").device_service() is None
