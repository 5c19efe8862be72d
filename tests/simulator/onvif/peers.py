"""Independent ONVIF clients pointed at the simulator: onvif-zeep-async with its own bundled WSDLs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import onvif
from lxml import etree
from onvif import ONVIFCamera

from vtrack.simulator.config import SimulatorConfig
from vtrack.simulator.device_http import DeviceServer

# onvif-zeep-async ships the ONVIF WSDLs/XSDs inside its package; nothing is fetched from onvif.org.
WSDL_DIR = str(Path(onvif.__file__).parent / "wsdl")
TER = "http://www.onvif.org/ver10/error"
NOT_AUTHORIZED = etree.QName(TER, "NotAuthorized")
ACTION_NOT_SUPPORTED = etree.QName(TER, "ActionNotSupported")


@asynccontextmanager
async def serving(config: SimulatorConfig, **kwargs: Any) -> AsyncIterator[DeviceServer]:
    """A DeviceServer for the test; WS-Discovery stays off unless the test asks for a port."""
    kwargs.setdefault("discovery_port", None)
    async with DeviceServer(config, **kwargs) as server:
        yield server


@asynccontextmanager
async def onvif_client(host: str, port: int, user: str, password: str, **kwargs: Any) -> AsyncIterator[Any]:
    """An ONVIFCamera (no WSDL cache on disk), closed afterwards so no aiohttp session leaks."""
    camera = ONVIFCamera(host, port, user, password, wsdl_dir=WSDL_DIR, no_cache=True, **kwargs)
    try:
        yield camera
    finally:
        await camera.close()


def stream_setup() -> dict[str, Any]:
    return {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


def onvif_datetime(clock: Any) -> datetime:
    """A tt:DateTime as zeep hands it back (Date and Time parts), as an aware UTC datetime."""
    date, time = clock.Date, clock.Time
    return datetime(date.Year, date.Month, date.Day, time.Hour, time.Minute, time.Second, tzinfo=UTC)
