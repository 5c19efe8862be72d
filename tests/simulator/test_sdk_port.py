"""The SDK-like port: open to TCP, but neither HTTP nor ONVIF, and it lets go of silent clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from vtrack.simulator.config import Faults
from vtrack.simulator.sdk_port import OPAQUE_REPLY, SdkPortServer

SOAP_PROBE = (
    b"POST /onvif/device_service HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/soap+xml\r\n"
    b"Content-Length: 10\r\n\r\n<Envelope>"
)


@pytest.fixture
async def faults() -> Faults:
    return Faults()


@pytest.fixture
async def port(faults: Faults) -> AsyncIterator[int]:
    server = SdkPortServer("127.0.0.1", 0, idle_timeout=0.3, faults=lambda: faults)
    await server.start()
    try:
        yield server.port
    finally:
        await server.stop()


async def test_accepts_tcp_and_answers_http_with_opaque_bytes(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(SOAP_PROBE)
    await writer.drain()
    reply = await asyncio.wait_for(reader.read(1024), 2)
    assert reply == OPAQUE_REPLY and not reply.startswith(b"HTTP/")
    assert await asyncio.wait_for(reader.read(1024), 2) == b""  # closed after the idle timeout
    writer.close()
    await writer.wait_closed()


async def test_http_clients_fail_cleanly_against_it(port: int) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(f"http://127.0.0.1:{port}/onvif/device_service", content=b"<Envelope/>")


async def test_silent_clients_are_dropped_after_the_idle_timeout(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    assert await asyncio.wait_for(reader.read(1024), 2) == b""
    assert 0.25 <= time.perf_counter() - started < 1.5
    writer.close()
    await writer.wait_closed()


async def test_offline_closes_at_once(port: int, faults: Faults) -> None:
    faults.offline = True
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    try:
        data = await asyncio.wait_for(reader.read(1024), 2)
    except ConnectionResetError:
        data = b""
    assert data == b"" and time.perf_counter() - started < 0.25
    writer.close()
    try:
        await writer.wait_closed()
    except ConnectionResetError:
        pass


async def test_stop_ends_open_connections() -> None:
    server = SdkPortServer("127.0.0.1", 0, idle_timeout=30)
    await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"\x00\x01")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(1024), 2) == OPAQUE_REPLY
    await asyncio.wait_for(server.stop(), 2)
    assert await asyncio.wait_for(reader.read(1024), 2) == b""
    writer.close()
    await writer.wait_closed()
