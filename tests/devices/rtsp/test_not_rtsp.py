"""Ports that are not an RTSP camera: a vendor's binary port, a web server, a closed port, a silent one."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.simulator.loopback import serve
from vtrack.devices.rtsp import RtspProtocolError, RtspTimeout, RtspUnreachable, probe_stream
from vtrack.simulator.sdk_port import SdkPortServer


@pytest.fixture
async def sdk_port() -> AsyncIterator[int]:
    server = SdkPortServer("127.0.0.1", 0)
    await server.start()
    yield server.port
    await server.stop()


async def test_binary_port_is_a_protocol_error_at_once(sdk_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(RtspProtocolError, match="does not speak RTSP") as caught:
        await probe_stream(f"rtsp://127.0.0.1:{sdk_port}/live", username="admin", password="x", timeout=5.0)
    assert time.monotonic() - started < 1.0
    assert caught.value.kind == "protocol" and f"127.0.0.1:{sdk_port}" in str(caught.value)


async def test_web_server_is_named_as_such() -> None:
    async def anything(_request: web.Request) -> web.Response:
        return web.Response(status=400, text="bad request")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    async with serve(app) as base:
        url = base.replace("http://", "rtsp://") + "/live"
        with pytest.raises(RtspProtocolError, match="answered with HTTP"):
            await probe_stream(url, username=None, password=None, timeout=5.0)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_closed_port_is_unreachable() -> None:
    port = _closed_port()
    with pytest.raises(
        RtspUnreachable, match=f"connection refused by 127.0.0.1:{port} — nothing listens there"
    ):
        await probe_stream(f"rtsp://127.0.0.1:{port}/live", username=None, password=None, timeout=5.0)


async def test_silent_port_times_out_within_the_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # read whatever comes and never answer
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = time.monotonic()
    try:
        with pytest.raises(RtspTimeout, match=f"no answer to DESCRIBE from 127.0.0.1:{port} within 0.3 s"):
            await probe_stream(f"rtsp://127.0.0.1:{port}/live", username=None, password=None, timeout=0.3)
    finally:
        server.close()
        await server.wait_closed()
    assert time.monotonic() - started < 1.5


async def test_not_an_rtsp_url() -> None:
    with pytest.raises(RtspProtocolError, match="not an rtsp:// URL"):
        await probe_stream("http://admin:secret@127.0.0.1/x", username=None, password=None, timeout=1.0)
