"""download_http's resume rules against a loopback server that misbehaves as NVRs do, and the simulator's
Range handling on its own."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from tests.devices.recordings import watched_client
from tests.simulator.loopback import serve
from vtrack.devices.errors import DeviceError
from vtrack.devices.recordings import (
    DeviceAccess,
    RecordingSegment,
    download_http,
    search_recordings,
    sniff_container,
)
from vtrack.simulator.personas.ranges import file_response

DATA = os.urandom(200_000)


def _app() -> web.Application:
    cuts = {"left": 1}

    async def ranged(request: web.Request) -> web.StreamResponse:
        return file_response(request, DATA, {"Content-Type": "video/mp4"})

    async def whole(request: web.Request) -> web.StreamResponse:
        return web.Response(body=DATA, headers={"Content-Type": "video/mp4"})

    async def cut_once(request: web.Request) -> web.StreamResponse:
        if not cuts["left"]:
            return file_response(request, DATA, {})
        cuts["left"] -= 1
        response = web.StreamResponse(headers={"Content-Length": str(len(DATA))})
        await response.prepare(request)
        await response.write(DATA[:70_000])
        assert request.transport is not None
        request.transport.abort()  # the LAN drops the connection mid-file
        return response

    async def locked(request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=401, headers={"WWW-Authenticate": 'Digest realm="x", nonce="n", qop="auth"'}
        )

    async def gone(request: web.Request) -> web.StreamResponse:
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/ranged", ranged)
    app.router.add_get("/whole", whole)
    app.router.add_get("/cut", cut_once)
    app.router.add_get("/locked", locked)
    app.router.add_get("/gone", gone)
    return app


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async with serve(_app()) as base:
        yield base


def _device(base: str) -> DeviceAccess:
    port = int(base.rsplit(":", 1)[1])
    return DeviceAccess("dahua", "127.0.0.1", port, "admin", "secret-pw", 5.0)


def _segment(url: str) -> RecordingSegment:
    moment = datetime(2026, 1, 8, 10, tzinfo=UTC)
    return RecordingSegment(1, moment, moment, "/f.dav", len(DATA), "http", url, "dav")


async def test_a_complete_file_is_not_fetched_again(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "f.part"
    dest.write_bytes(DATA)
    async with watched_client() as (http, seen):
        assert await download_http(http, _device(server), _segment(f"{server}/ranged"), dest) == len(DATA)
    assert seen.statuses == [416] and dest.read_bytes() == DATA


async def test_a_device_without_ranges_sends_the_whole_file_again(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "f.part"
    dest.write_bytes(b"x" * 5000)  # whatever was there is replaced, not prefixed
    async with watched_client() as (http, seen):
        assert await download_http(http, _device(server), _segment(f"{server}/whole"), dest) == len(DATA)
    assert seen.requests[0].headers["Range"] == "bytes=5000-" and seen.statuses == [200]
    assert dest.read_bytes() == DATA


async def test_a_dropped_connection_keeps_what_came_and_the_next_try_resumes(
    server: str, tmp_path: Path
) -> None:
    dest = tmp_path / "f.part"
    async with watched_client() as (http, seen):
        with pytest.raises(DeviceError) as raised:
            await download_http(http, _device(server), _segment(f"{server}/cut"), dest)
        assert raised.value.kind == "unreachable"
        held = dest.stat().st_size
        assert 0 < held <= 70_000
        assert await download_http(http, _device(server), _segment(f"{server}/cut"), dest) == len(DATA)
    assert seen.requests[-1].headers["Range"] == f"bytes={held}-" and seen.statuses[-1] == 206
    assert dest.read_bytes() == DATA


async def test_refused_credentials_and_missing_files(server: str, tmp_path: Path) -> None:
    async with watched_client() as (http, seen):
        with pytest.raises(DeviceError) as refused:
            await download_http(http, _device(server), _segment(f"{server}/locked"), tmp_path / "a.part")
        assert refused.value.kind == "auth"
        assert len(seen.requests) == 2  # the Digest answer to the challenge, once; never retried
        assert "secret-pw" not in str(refused.value)
        with pytest.raises(DeviceError) as missing:
            await download_http(http, _device(server), _segment(f"{server}/gone"), tmp_path / "b.part")
        assert missing.value.kind == "not_found"


async def test_nothing_listening_is_unreachable(tmp_path: Path) -> None:
    async with serve(web.Application()) as base:
        pass  # the port is free again
    async with watched_client() as (http, _):
        with pytest.raises(DeviceError) as raised:
            await download_http(http, _device(base), _segment(f"{base}/ranged"), tmp_path / "c.part")
    assert raised.value.kind == "unreachable"


@pytest.mark.parametrize(
    ("header", "status", "body", "content_range"),
    [
        ("bytes=10-", 206, DATA[10:], f"bytes 10-{len(DATA) - 1}/{len(DATA)}"),
        ("bytes=0-99", 206, DATA[:100], f"bytes 0-99/{len(DATA)}"),
        ("bytes=-5", 206, DATA[-5:], f"bytes {len(DATA) - 5}-{len(DATA) - 1}/{len(DATA)}"),
        (f"bytes={len(DATA)}-", 416, b"", f"bytes */{len(DATA)}"),
        ("bytes=1-2,5-6", 200, DATA, None),  # several ranges: not offered, the whole file instead
        ("items=0-1", 200, DATA, None),
    ],
)
async def test_simulator_ranges(
    server: str, header: str, status: int, body: bytes, content_range: str | None
) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(f"{server}/ranged", headers={"Range": header})
    assert response.status_code == status and response.content == body
    assert response.headers.get("Content-Range") == content_range
    assert response.headers["Accept-Ranges"] == "bytes"


def test_sniffing_containers() -> None:
    assert sniff_container(b"\x00\x00\x00\x20ftypisom") == "mp4"
    assert sniff_container(b"DHAV\xfd\x00") == "dav"
    assert sniff_container(b"IMKH\x01\x02") == "ps"
    assert sniff_container(b"\x00\x00\x01\xba\x44") == "ps"
    assert sniff_container(b"\x47" + bytes(187) + b"\x47") == "ts"
    assert sniff_container(b"<html>") is None


async def test_arguments_are_checked_before_any_request(tmp_path: Path) -> None:
    device = DeviceAccess("onvif", "127.0.0.1", 9, "admin", "secret-pw", 1.0)
    assert "secret-pw" not in repr(device)
    with pytest.raises(ValueError, match="unknown time zone"):
        DeviceAccess("dahua", "127.0.0.1", 9, "admin", "pw", 1.0, device_timezone="Mars/Olympus")
    async with httpx.AsyncClient(trust_env=False) as http:
        with pytest.raises(ValueError, match="aware"):
            await search_recordings(http, device, 1, datetime(2026, 1, 1), datetime(2026, 1, 2))  # noqa: DTZ001
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        assert await search_recordings(http, device, 1, moment, moment) == []
        replay = RecordingSegment(1, moment, moment, "r@x", None, "onvif_replay", "rtsp://h/replay/1", None)
        with pytest.raises(ValueError, match="ONVIF replay"):
            await download_http(http, device, replay, tmp_path / "r.part")
