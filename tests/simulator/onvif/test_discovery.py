"""WS-Discovery: raw SOAP-over-UDP probes and the WSDiscovery package find the simulated devices on loopback.

Every socket here is bound to 127.0.0.x and multicast is sent and joined on the loopback interface only.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import pytest
from lxml import etree
from wsdiscovery.qname import QName

from tests.simulator.onvif.peers import serving
from tests.simulator.onvif.wsdiscovery_peer import LoopbackWSDiscovery
from vtrack.simulator.config import SimulatorConfig, default_cameras
from vtrack.simulator.device_http import DeviceServer
from vtrack.simulator.onvif.device import UNREACHABLE_HOST
from vtrack.simulator.onvif.discovery import DISCOVERY_PORT, MULTICAST_GROUP, DiscoveryResponder

S = "http://www.w3.org/2003/05/soap-envelope"
A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
D = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
NVT = QName(DN, "NetworkVideoTransmitter")


def probe(
    message_id: str, types: str | None = "dn:NetworkVideoTransmitter", scopes: str | None = None
) -> bytes:
    types_el = f"<d:Types>{types}</d:Types>" if types is not None else ""
    scopes_el = f"<d:Scopes>{scopes}</d:Scopes>" if scopes is not None else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{S}" xmlns:a="{A}" xmlns:d="{D}" xmlns:dn="{DN}" xmlns:tds="{TDS}"'
        f' xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof">'
        f"<s:Header><a:Action>{D}/Probe</a:Action><a:MessageID>{message_id}</a:MessageID>"
        f"<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>"
        f"<s:Body><d:Probe>{types_el}{scopes_el}</d:Probe></s:Body></s:Envelope>"
    ).encode()


@dataclass
class Match:
    source: tuple[str, int]
    action: str
    relates_to: str | None
    epr: str
    types: set[tuple[str, str]]
    scopes: list[str]
    xaddrs: list[str]


def parse(data: bytes, source: tuple[str, int]) -> Match:
    root = etree.fromstring(data)
    header = root.find(f"{{{S}}}Header")
    body = root.find(f"{{{S}}}Body")
    assert header is not None and body is not None
    node = body.find(f"{{{D}}}ProbeMatches/{{{D}}}ProbeMatch")
    if node is None:
        node = body[0]  # Hello or Bye
    types_el = node.find(f"{{{D}}}Types")
    types = set()
    if types_el is not None and types_el.text:
        for item in types_el.text.split():
            prefix, _, local = item.partition(":")
            types.add((types_el.nsmap[prefix], local))
    return Match(
        source=source,
        action=header.findtext(f"{{{A}}}Action") or "",
        relates_to=header.findtext(f"{{{A}}}RelatesTo"),
        epr=node.findtext(f"{{{A}}}EndpointReference/{{{A}}}Address") or "",
        types=types,
        scopes=(node.findtext(f"{{{D}}}Scopes") or "").split(),
        xaddrs=(node.findtext(f"{{{D}}}XAddrs") or "").split(),
    )


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait((data, addr))


@dataclass
class Client:
    transport: asyncio.DatagramTransport
    collector: _Collector

    def send(self, data: bytes, destination: tuple[str, int]) -> None:
        self.transport.sendto(data, destination)

    async def collect(self, seconds: float) -> list[Match]:
        """Everything that arrives within `seconds`."""
        matches = []
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    data, source = await self.collector.received.get()
                    matches.append(parse(data, source))
        return matches


@asynccontextmanager
async def udp_client(sock: socket.socket | None = None) -> AsyncIterator[Client]:
    """A UDP socket on 127.0.0.1 (or the given one) that gathers what comes back."""
    if sock is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_datagram_endpoint(_Collector, sock=sock)
    try:
        yield Client(transport, collector)
    finally:
        transport.close()


def cameras(host: str, nvr: bool = False) -> SimulatorConfig:
    return SimulatorConfig(cameras=default_cameras(3), host=host, onvif_port_base=0, nvr=nvr)


def responder(server: DeviceServer) -> DiscoveryResponder:
    assert server.discovery is not None
    return server.discovery


async def test_unicast_probe_gets_a_probe_match_from_each_camera() -> None:
    config = cameras("127.0.0.3")
    async with asyncio.timeout(10), serving(config, discovery_port=0) as server, udp_client() as client:
        target = ("127.0.0.3", responder(server).port)
        message_id = uuid.uuid4().urn
        client.send(probe(message_id), target)
        client.send(probe(message_id), target)  # SOAP-over-UDP repeats; the device answers once
        matches = await client.collect(0.5)
        assert len(matches) == 3
        by_xaddr = {match.xaddrs[0]: match for match in matches}
        for device in server.devices:
            match = by_xaddr[f"http://127.0.0.3:{device.port}/onvif/device_service"]
            assert match.source == target
            assert match.action == f"{D}/ProbeMatches"
            assert match.relates_to == message_id
            assert match.epr == f"urn:uuid:{device.uuid}"
            assert match.types == {(DN, "NetworkVideoTransmitter"), (TDS, "Device")}
            quoted = device.primary.name.replace(" ", "%20")
            assert f"onvif://www.onvif.org/name/{quoted}" in match.scopes
            assert "onvif://www.onvif.org/hardware/SimCam" in match.scopes
            assert "onvif://www.onvif.org/location/lab" in match.scopes
            assert "onvif://www.onvif.org/type/video_encoder" in match.scopes
            assert "onvif://www.onvif.org/Profile/Streaming" in match.scopes
        assert len({match.epr for match in matches}) == 3


@pytest.mark.parametrize(
    ("types", "scopes", "expected"),
    [
        ("tds:Device", None, 3),
        ("dn:NetworkVideoTransmitter tds:Device", None, 3),
        (None, None, 3),
        ("wsdp:Device", None, 0),  # a printer probe
        (None, "onvif://www.onvif.org/name/Warehouse%20Camera", 1),
        ("dn:NetworkVideoTransmitter", "onvif://www.onvif.org/type", 3),
        (None, "onvif://www.onvif.org/Profile/G", 0),  # plain cameras have no recordings
    ],
)
async def test_probe_types_and_scopes_select_devices(
    types: str | None, scopes: str | None, expected: int
) -> None:
    config = cameras("127.0.0.3")
    async with asyncio.timeout(10), serving(config, discovery_port=0) as server, udp_client() as client:
        client.send(probe(uuid.uuid4().urn, types, scopes), ("127.0.0.3", responder(server).port))
        assert len(await client.collect(0.3)) == expected


async def test_faulty_devices_in_discovery() -> None:
    config = cameras("127.0.0.3")
    config.cameras[0].faults.offline = True
    config.cameras[1].faults.wrong_xaddrs = True
    async with asyncio.timeout(10), serving(config, discovery_port=0) as server, udp_client() as client:
        client.send(probe(uuid.uuid4().urn), ("127.0.0.3", responder(server).port))
        matches = await client.collect(0.3)
        hosts = sorted(match.xaddrs[0].split("/")[2].split(":")[0] for match in matches)
        assert hosts == ["10.255.255.1", "127.0.0.3"] == sorted([UNREACHABLE_HOST, "127.0.0.3"])


async def test_a_device_with_onvif_switched_off_does_not_answer_discovery() -> None:
    config = cameras("127.0.0.3")
    faults = config.cameras[1].faults
    faults.onvif_disabled = True
    async with asyncio.timeout(10), serving(config, discovery_port=0) as server, udp_client() as client:
        target = ("127.0.0.3", responder(server).port)
        client.send(probe(uuid.uuid4().urn), target)
        matches = await client.collect(0.3)
        names = {scope for match in matches for scope in match.scopes if "/name/" in scope}
        assert len(matches) == 2 and not any("Parking" in name for name in names)
        faults.onvif_disabled = False
        client.send(probe(uuid.uuid4().urn), target)
        assert len(await client.collect(0.3)) == 3


def _loopback_multicast_sender() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def test_multicast_probe_on_the_loopback_interface() -> None:
    config = cameras("127.0.0.4", nvr=True)
    async with asyncio.timeout(10), serving(config, discovery_port=0) as server:
        if not responder(server).multicast_joined:
            pytest.skip("this host cannot join 239.255.255.250 on the loopback interface")
        port = responder(server).port
        async with udp_client(_loopback_multicast_sender()) as client:
            message_id = uuid.uuid4().urn
            client.send(probe(message_id, "tds:Device"), (MULTICAST_GROUP, port))
            matches = await client.collect(0.8)  # answers to multicast wait up to APP_MAX_DELAY (0.5 s)
    assert len(matches) == 1  # one NVR for all three channels
    (match,) = matches
    assert match.source == ("127.0.0.4", port)
    assert match.relates_to == message_id
    assert "onvif://www.onvif.org/Profile/G" in match.scopes


async def test_hello_on_start_and_bye_on_stop() -> None:
    probe_port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe_port.bind(("127.0.0.5", 0))
    port = probe_port.getsockname()[1]
    probe_port.close()
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((MULTICAST_GROUP, port))
        membership = struct.pack("4s4s", socket.inet_aton(MULTICAST_GROUP), socket.inet_aton("127.0.0.1"))
        listener.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    except OSError as exc:
        listener.close()
        pytest.skip(f"cannot join 239.255.255.250 on the loopback interface: {exc}")
    config = cameras("127.0.0.5")
    async with asyncio.timeout(10), udp_client(listener) as client:
        async with serving(config, discovery_port=port) as server:
            hellos = await client.collect(0.3)
            devices = {device.uuid: device.xaddr("device") for device in server.devices}
        byes = await client.collect(0.3)
    assert {(m.action, m.epr, m.xaddrs[0]) for m in hellos} == {
        (f"{D}/Hello", f"urn:uuid:{uid}", xaddr) for uid, xaddr in devices.items()
    }
    assert {(m.action, m.epr) for m in byes} == {(f"{D}/Bye", f"urn:uuid:{uid}") for uid in devices}


async def test_wsdiscovery_package_finds_cameras_by_unicast_probe() -> None:
    config = cameras("127.0.0.6")
    async with asyncio.timeout(15), serving(config, discovery_port=0) as server:
        port = responder(server).port
        wsd = LoopbackWSDiscovery(fix_unicast=True)
        wsd.start()
        try:
            found = await asyncio.to_thread(wsd.searchServices, [NVT], None, "127.0.0.6", port, 1.0)
        finally:
            await asyncio.to_thread(wsd.stop)
        by_epr = {service.getEPR(): service for service in found}
        assert set(by_epr) == {f"urn:uuid:{device.uuid}" for device in server.devices}
        for device in server.devices:
            service = by_epr[f"urn:uuid:{device.uuid}"]
            assert service.getXAddrs() == [f"http://127.0.0.6:{device.port}/onvif/device_service"]
            scopes = [scope.getValue() for scope in service.getScopes()]
            # The library turns %20 back into spaces.
            assert f"onvif://www.onvif.org/name/{device.primary.name}" in scopes
            assert {t.getFullname() for t in service.getTypes()} == {
                f"{DN}:NetworkVideoTransmitter",
                f"{TDS}:Device",
            }


async def test_wsdiscovery_package_unicast_path_is_broken_as_shipped() -> None:
    """Why vtrack has its own discovery: as shipped, the library never reads its unicast socket."""
    config = cameras("127.0.0.6")
    async with asyncio.timeout(15), serving(config, discovery_port=0) as server:
        wsd = LoopbackWSDiscovery(fix_unicast=False)
        wsd.start()
        try:
            found = await asyncio.to_thread(
                wsd.searchServices, [NVT], None, "127.0.0.6", responder(server).port, 0.6
            )
        finally:
            await asyncio.to_thread(wsd.stop)
        assert found == []


async def test_wsdiscovery_package_finds_an_nvr_by_multicast_on_loopback() -> None:
    """The library's own multicast probe (to 239.255.255.250:3702, on loopback only) finds the NVR."""
    host = f"127.{uuid.uuid4().int % 200 + 20}.{uuid.uuid4().int % 250 + 1}.{uuid.uuid4().int % 250 + 1}"
    config = cameras(host, nvr=True)
    try:
        server = DeviceServer(config, discovery_port=DISCOVERY_PORT)
        await server.start()
    except OSError as exc:
        pytest.skip(f"cannot bind {host}:{DISCOVERY_PORT} for WS-Discovery: {exc}")
    try:
        if not responder(server).multicast_joined:
            pytest.skip("this host cannot join 239.255.255.250 on the loopback interface")
        async with asyncio.timeout(15):
            wsd = LoopbackWSDiscovery()
            wsd.start()
            try:
                found = await asyncio.to_thread(wsd.searchServices, [NVT], None, None, None, 1.2)
            finally:
                await asyncio.to_thread(wsd.stop)
        nvr = server.devices[0]
        # Other simulators on this machine may answer too; pick ours by its endpoint reference.
        ours = [service for service in found if service.getEPR() == f"urn:uuid:{nvr.uuid}"]
        assert len(ours) == 1
        assert ours[0].getXAddrs() == [f"http://{host}:{nvr.port}/onvif/device_service"]
        assert "onvif://www.onvif.org/Profile/G" in [scope.getValue() for scope in ours[0].getScopes()]
    finally:
        await server.stop()
