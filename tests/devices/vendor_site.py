"""A simulated Hikvision or Dahua site on loopback for the vendor client tests: small, quick to start."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import av
import httpx

from vtrack.simulator.config import CameraSpec, Persona, SimulatorConfig
from vtrack.simulator.runner import Simulator

HOST = "127.0.0.1"
USER, PASSWORD = "admin", "site-pass-7"


def small_cameras() -> list[CameraSpec]:
    return [
        CameraSpec(index=0, name="Gate", width=640, height=360, codec="h264", fps=10, serial="SIM000001"),
        CameraSpec(index=1, name="Yard", width=480, height=272, codec="h265", fps=12, serial="SIM000002"),
    ]


@asynccontextmanager
async def vendor_site(
    persona: Persona, *, nvr: bool = False, sdk_ports: bool = False, onvif_disabled: bool = False
) -> AsyncIterator[Simulator]:
    config = SimulatorConfig(
        cameras=small_cameras(),
        host=HOST,
        onvif_port_base=0,
        rtsp_port=0,
        username=USER,
        password=PASSWORD,
        persona=persona,
        nvr=nvr,
    )
    for camera in config.cameras:
        camera.faults.onvif_disabled = onvif_disabled
    simulator = Simulator(config, discovery_port=None, sdk_port_base=0 if sdk_ports else None)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def device_port(simulator: Simulator, index: int = 0) -> int:
    return simulator.devices.devices[index].port


def base_url(simulator: Simulator, index: int = 0) -> str:
    return f"http://{HOST}:{device_port(simulator, index)}"


@asynccontextmanager
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    """No proxies from the environment: every request here stays on loopback."""
    async with httpx.AsyncClient(trust_env=False) as http:
        yield http


def jpeg_size(data: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def first_frame_size(url: str) -> tuple[int, int]:
    """Open an RTSP URL with FFmpeg (PyAV; blocking: run it in a thread) and decode one frame."""
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height
