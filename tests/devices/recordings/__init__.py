"""Recording search and download against the simulator's ONVIF NVR and its Hikvision and Dahua personas.

The personas' archives follow the wall clock (files on a 10-minute grid, the last 7 days), so each test
searches a window on that grid a few hours back: it is fully recorded and does not move during the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.devices.vendor_site import HOST, PASSWORD, USER, device_port
from vtrack.devices.recordings import DeviceAccess, Protocol
from vtrack.simulator.runner import Simulator

WRONG = "not-the-pass-4u"


def hour_window(hours_ago: int = 3) -> tuple[datetime, datetime]:
    """A whole clock hour, `hours_ago` hours before the current one."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours_ago)
    return start, start + timedelta(hours=1)


def access(
    site: Simulator, protocol: Protocol, *, password: str = PASSWORD, zone: str | None = None
) -> DeviceAccess:
    return DeviceAccess(
        protocol=protocol,
        host=HOST,
        port=device_port(site),
        username=USER,
        password=password,
        timeout=5.0,
        device_timezone=zone,
    )


@dataclass
class Seen:
    """Requests a client sent and the statuses it got back, as the client's event hooks saw them."""

    requests: list[httpx.Request] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


@asynccontextmanager
async def watched_client() -> AsyncIterator[tuple[httpx.AsyncClient, Seen]]:
    seen = Seen()

    async def on_request(request: httpx.Request) -> None:
        seen.requests.append(request)

    async def on_response(response: httpx.Response) -> None:
        seen.statuses.append(response.status_code)

    hooks: dict[str, list[Callable[..., Any]]] = {"request": [on_request], "response": [on_response]}
    async with httpx.AsyncClient(trust_env=False, event_hooks=hooks) as http:
        yield http, seen
