"""The discovery sweep: hosts × ports with bounded concurrency, every outcome counted or explained.

Against the simulator on loopback (127.0.77.0/24) and loopback TCP listeners that count concurrent
connections.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests.devices.onvif import HOST, PASSWORD, USERNAME, closed_port, device_ports, discovery_port, site
from vtrack.devices.scan import ScanOptions, ScanResult, discover, probe_target, scan_targets
from vtrack.devices.targets import parse_hosts

SWEEP_RANGE = "127.0.77.16/28"  # 127.0.77.17 - .30
SWEEP_HOST = "127.0.77.20"
SEED = [
    ("Front Door Camera", "1920x1080", "H264"),
    ("Parking Lot Camera", "1280x720", "H265"),
    ("Warehouse Camera", "800x600", "MPEG4"),
]


def options(**changes: object) -> ScanOptions:
    values: dict[str, object] = {
        "username": USERNAME,
        "password": PASSWORD,
        "timeout": 2.0,
        "ws_discovery": False,
        "interface": "127.0.0.1",
    }
    values.update(changes)
    return ScanOptions(**values)  # type: ignore[arg-type]


async def test_seed_three_cameras_on_three_ports() -> None:
    async with site(3) as sim:
        ports = device_ports(sim)
        closed = closed_port()
        result = await discover(hosts=[HOST], ports=[*ports, closed], options=options())
    assert result.success and result.closed == 1 and result.problems == [] and result.scanned == 4
    assert result.ports == sorted(ports)
    assert result.message == (f"ONVIF Multi-Camera Discovery - Found 3 camera(s) on ports: {sorted(ports)}")
    cameras = result.cameras
    # Numbered per host in port order, as seed 000 does: onvif_HOST_channel_1..3.
    assert [c.id for c in cameras] == [f"onvif_{HOST}_channel_{n}" for n in (1, 2, 3)]
    assert [c.onvif_port for c in cameras] == sorted(ports)
    by_port = dict(zip(ports, SEED, strict=True))
    assert [(c.name, c.resolution, c.codec) for c in cameras] == [by_port[p] for p in sorted(ports)]
    assert all(c.rtsp_url and c.rtsp_url.startswith(f"rtsp://{HOST}:") for c in cameras)
    json.dumps(result.as_json())  # plain data all the way down


async def test_sweep_of_a_range_is_fast_and_counts_closed_ports() -> None:
    """14 hosts × 3 ports, with WS-Discovery unicast to every host too: 3 cameras, 39 closed, in seconds."""
    async with site(3, host=SWEEP_HOST, discovery=True) as sim:
        ports = device_ports(sim)
        progress: list[tuple[int, int]] = []

        async def report(done: int, total: int) -> None:
            progress.append((done, total))

        started = time.monotonic()
        result = await discover(
            hosts=parse_hosts(SWEEP_RANGE),
            ports=ports,
            options=options(
                concurrency=8, ws_discovery=True, ws_discovery_port=discovery_port(sim), ws_wait=0.5
            ),
            progress=report,
        )
        elapsed = time.monotonic() - started
    assert elapsed < 6.0, elapsed
    assert result.ws_discovery == 3
    assert result.scanned == 42  # the WS-Discovery answers named targets the sweep already had
    assert (len(result.cameras), result.closed, result.silent, result.problems) == (3, 39, 0, [])
    assert {c.host for c in result.cameras} == {SWEEP_HOST}
    assert progress[-1] == (42, 42) and len(progress) == 42


async def test_problems_are_explained_and_no_password_is_shown() -> None:
    faults: list[dict[str, object]] = [
        {},
        {"wrong_password": True},
        {"malformed_xml": True},
        {"slow_seconds": 1.0},
        {"offline": True},
    ]
    async with site(5, sdk=True, camera_faults=faults) as sim:
        ports = device_ports(sim)
        sdk = sim.sdk_ports[0].port
        result = await discover(
            hosts=[HOST], ports=[*ports, sdk], options=options(timeout=0.5, concurrency=3)
        )
    kinds = {problem.port: (problem.kind, problem.message) for problem in result.problems}
    assert [d.port for d in result.devices] == [ports[0]] and len(result.cameras) == 1
    assert kinds[ports[1]][0] == "auth" and "refused the credentials" in kinds[ports[1]][1]
    assert kinds[ports[2]][0] == "protocol" and "malformed" in kinds[ports[2]][1]
    assert kinds[ports[3]][0] == "timeout"
    assert kinds[ports[4]][0] == "unreachable" and "dropped" in kinds[ports[4]][1]
    assert kinds[sdk][0] == "not_onvif" and "does not speak HTTP" in kinds[sdk][1]
    assert "Traceback" not in repr(result.problems)
    assert PASSWORD not in json.dumps(result.as_json()) and PASSWORD not in repr(result)


async def test_failure_message_names_the_first_problem() -> None:
    async with site(1, wrong_password=True) as sim:
        [port] = device_ports(sim)
        result = await discover(hosts=[HOST], ports=[port], options=options())
    assert not result.success
    assert result.message.startswith("ONVIF Multi-Camera Discovery - Found 0 camera(s) on ports: []; ")
    assert f"{HOST}:{port}: ONVIF device found, but it refused" in result.message


async def test_no_credentials_says_they_are_needed() -> None:
    async with site(1) as sim:
        outcome = await probe_target(HOST, device_ports(sim)[0], options(username=None, password=None))
    assert not isinstance(outcome, BaseException)
    assert getattr(outcome, "kind", None) == "auth"
    assert "needs a username and password" in getattr(outcome, "message", "")


async def test_nothing_there_is_counted_not_listed() -> None:
    result = await discover(
        hosts=parse_hosts("127.0.77.40/30"), ports=[closed_port("127.0.77.41")], options=options()
    )
    assert (result.success, result.closed, result.problems, result.cameras) == (False, 2, [], [])
    assert result.message.endswith("; of 2 address(es) 2 closed, 0 did not answer")


# -- ONVIF switched off ------------------------------------------------------------------------------


async def test_onvif_switched_off_is_a_not_onvif_problem() -> None:
    async with site(1, onvif_disabled=True) as sim:
        result = await discover(hosts=[HOST], ports=device_ports(sim), options=options())
    [problem] = result.problems
    assert problem.kind == "not_onvif" and "ONVIF" in problem.message
    assert not result.success


@pytest.mark.parametrize(("persona", "vendor"), [("hikvision", "Hikvision"), ("dahua", "Dahua")])
async def test_onvif_switched_off_vendor_device_is_recognised(persona: str, vendor: str) -> None:
    """The issue: "recognises Hikvision ISAPI / Dahua CGI when ONVIF is off"."""
    async with site(1, persona=persona, onvif_disabled=True) as sim:  # type: ignore[arg-type]
        result = await discover(hosts=[HOST], ports=device_ports(sim), options=options())
    said = json.dumps(result.as_json())
    assert vendor in said or vendor.lower() in {d.protocol for d in result.devices}
    assert PASSWORD not in said


# -- concurrency ---------------------------------------------------------------------------------------


async def test_concurrency_is_bounded() -> None:
    """Twelve listeners that hold each connection 0.15 s then hang up: never more than 3 open at once."""
    open_now = 0
    most = 0

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        try:
            await reader.read(1024)
            await asyncio.sleep(0.15)
        finally:
            open_now -= 1
            writer.close()

    servers = [await asyncio.start_server(hold, "127.0.77.50", 0) for _ in range(12)]
    try:
        ports = [int(server.sockets[0].getsockname()[1]) for server in servers]
        result = await scan_targets([("127.0.77.50", port) for port in ports], options(concurrency=3))
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()
    assert 2 <= most <= 3
    assert len(result.problems) == 12 and {p.kind for p in result.problems} == {"not_onvif"}


async def test_names_and_addresses_sweep_together() -> None:
    """Host names and addresses in one sweep (the sort once compared an int with a str and crashed)."""
    port = closed_port("127.0.0.1")
    targets = [("localhost", port), ("127.0.0.1", port), ("127.0.77.3", port), ("127.0.77.10", port)]
    result = await scan_targets(targets, options())
    assert result.scanned == 4 and result.closed + result.silent + len(result.problems) == 4
    assert result.closed >= 3  # localhost may resolve to ::1 first, where the port may be closed too


async def test_a_bad_multicast_interface_is_a_problem_not_a_crash() -> None:
    # 192.0.2.1 (TEST-NET-1) is not an address of this machine: binding to it fails, nothing is sent.
    result = await discover(
        hosts=None,
        ports=[80],
        options=options(ws_discovery=True, interface="192.0.2.1", ws_discovery_port=9, ws_wait=0.1),
    )
    [problem] = result.problems
    assert problem.kind == "unreachable" and "192.0.2.1" in problem.message
    assert not result.success


def test_empty_result_shape() -> None:
    data = ScanResult().as_json()
    assert data["success"] is False and data["cameras"] == []
    assert data["message"] == "ONVIF Multi-Camera Discovery - Found 0 camera(s) on ports: []"
