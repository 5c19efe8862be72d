"""Peers for the discovery-side tests: the project's simulator, started whole on a loopback address.

Every device gets an ephemeral port (onvif_port_base=0), RTSP too, and WS-Discovery (when asked for) an
ephemeral UDP port, so these tests never touch 3702 and run beside other suites on the same machine. The
hosts are in 127.0.77.0/24, which no other suite here uses.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from vtrack.simulator.config import Persona, SimulatorConfig, default_cameras
from vtrack.simulator.runner import Simulator

HOST = "127.0.77.1"
USERNAME = "admin"
PASSWORD = "admin123"  # the simulator's documented default


@asynccontextmanager
async def site(
    cameras: int = 3,
    *,
    host: str = HOST,
    nvr: bool = False,
    persona: Persona = "onvif",
    discovery: bool = False,
    sdk: bool = False,
    camera_faults: Sequence[Mapping[str, object]] = (),
    **faults: object,
) -> AsyncIterator[Simulator]:
    """A running simulator; `faults` are set on every camera (an NVR reads channel 1's), `camera_faults[i]`
    on camera i only."""
    config = SimulatorConfig(
        cameras=default_cameras(cameras),
        host=host,
        onvif_port_base=0,
        rtsp_port=0,
        nvr=nvr,
        persona=persona,
    )
    for index, camera in enumerate(config.cameras):
        own = camera_faults[index] if index < len(camera_faults) else {}
        for name, value in {**faults, **own}.items():
            assert hasattr(camera.faults, name), f"the simulator has no fault {name!r}"
            setattr(camera.faults, name, value)
    simulator = Simulator(config, discovery_port=0 if discovery else None, sdk_port_base=0 if sdk else None)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def device_ports(simulator: Simulator) -> list[int]:
    return [device.port for device in simulator.devices.devices]


def discovery_port(simulator: Simulator) -> int:
    responder = simulator.devices.discovery
    assert responder is not None, "start the site with discovery=True"
    return responder.port


def closed_port(host: str = HOST) -> int:
    """A TCP port nothing listens on (bound, then released: refused until someone else takes it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
