"""Live analytics over HTTP against a real server: signed links, the annotated MJPEG preview, SSE counts.

A simulated camera (test pattern) is analysed by the motion detector, which needs no model, so this runs
everywhere; tests/analytics/test_consistency.py does the same with real people and YOLOX.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import ADMIN_PASSWORD, client_for, login
from tests.peers.http_server import serving
from tests.peers.redis_server import running_redis
from tests.simulator.rtsp.conftest import small_cameras
from vtrack.app import create_app
from vtrack.events.redis_bridge import redis_events
from vtrack.settings import Settings
from vtrack.simulator.config import DEFAULT_PASSWORD, DEFAULT_USERNAME, SimulatorConfig
from vtrack.simulator.runner import Simulator


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(cameras=small_cameras()[:1], host="127.0.0.1", onvif_port_base=0, rtsp_port=0)
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def live_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(
        settings.model_copy(update={"analytics_detector": "motion", "analytics_reconnect_seconds": 0.5})
    )
    async with application.router.lifespan_context(application):
        yield application


async def running_channel(app: FastAPI, site: Simulator) -> tuple[str, str]:
    """Admin token and the id of a channel on the simulated camera, once it has analysed frames."""
    token = await login(app, "admin", ADMIN_PASSWORD)
    async with client_for(app, token) as admin:
        created = await admin.post(
            "/api/v1/analytics/channels",
            json={
                "name": "entrance",
                "url": site.cameras()[0].rtsp_url,
                "username": DEFAULT_USERNAME,
                "password": DEFAULT_PASSWORD,
                "lines": [{"name": "door", "points": [[0, 0.5], [1, 0.5]]}],
            },
        )
        assert created.status_code == 201, created.text
        channel_id: str = created.json()["data"]["id"]
        for _ in range(200):
            live = (await admin.get("/api/v1/analytics/live")).json()["data"]["channels"]
            health = next((c["health"] for c in live if c["channelId"] == channel_id), None)
            if health and health["framesProcessed"] > 3:
                return token, channel_id
            await asyncio.sleep(0.1)
    raise AssertionError(f"the channel never analysed a frame: {live}")


async def read_sse(response: httpx.Response, wanted: int) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    kind = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((kind, json.loads(line.removeprefix("data: "))))
            if len(events) >= wanted:
                break
    return events


async def test_live_overview_preview_and_stream(live_app: FastAPI, site: Simulator) -> None:
    token, channel_id = await running_channel(live_app, site)
    async with serving(live_app) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        overview = await http.get("/api/v1/analytics/live", headers={"Authorization": f"Bearer {token}"})
        assert overview.status_code == 200, overview.text
        channel = next(c for c in overview.json()["data"]["channels"] if c["channelId"] == channel_id)
        assert channel["name"] == "entrance" and channel["health"]["state"] == "running"
        assert channel["health"]["fpsOut"] > 0 and channel["health"]["latencyP95Ms"] is not None

        # One annotated frame, by signed link (what an <img> uses) and by bearer token.
        frame = await http.get(channel["frameUrl"])
        assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"
        assert frame.content[:2] == b"\xff\xd8" and frame.content[-2:] == b"\xff\xd9"
        path = channel["frameUrl"].split("?")[0]
        assert (await http.get(path, headers={"Authorization": f"Bearer {token}"})).status_code == 200
        assert (await http.get(path)).status_code == 401
        tampered = channel["frameUrl"].replace("sig=", "sig=x")
        assert (await http.get(tampered)).status_code == 403
        other = channel["previewUrl"].split("?")[1]  # the preview's signature does not open the frame
        assert (await http.get(f"{path}?{other}")).status_code == 403

        # MJPEG: a multipart stream of JPEGs.
        async with http.stream("GET", channel["previewUrl"] + "&fps=10") as preview:
            assert preview.status_code == 200
            assert preview.headers["content-type"].startswith("multipart/x-mixed-replace")
            buffer = b""
            async for chunk in preview.aiter_bytes():
                buffer += chunk
                if buffer.count(b"\xff\xd9") >= 2:
                    break
        parts = [p for p in buffer.split(b"--vtrackframe\r\n") if p]
        assert len(parts) >= 2
        head, _, body = parts[0].partition(b"\r\n\r\n")
        assert b"Content-Type: image/jpeg" in head and body.startswith(b"\xff\xd8")

        # SSE: the channel's health first, then live counts at least once a second.
        async with http.stream(
            "GET", overview.json()["data"]["streamUrl"] + f"&channel={channel_id}"
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = await asyncio.wait_for(read_sse(stream, 3), 15)
        kinds = [kind for kind, _ in events]
        assert kinds[0] == "health" and "counts" in kinds[1:], kinds
        counts = next(data for kind, data in events if kind == "counts")
        assert counts["channelId"] == channel_id and counts["lines"]["door"].keys() == {"in", "out"}
        assert counts["runId"] == channel["health"]["runId"]


async def test_preview_of_a_channel_that_is_not_running_is_404(live_app: FastAPI) -> None:
    token = await login(live_app, "admin", ADMIN_PASSWORD)
    async with client_for(live_app, token) as admin:
        missing = await admin.get("/api/v1/analytics/channels/nope/frame.jpg")
        assert missing.status_code == 404
        assert "not running" in missing.json()["error"]["message"]


async def test_viewer_reads_live_but_anonymous_does_not(live_app: FastAPI) -> None:
    async with client_for(live_app) as anonymous:
        assert (await anonymous.get("/api/v1/analytics/live")).status_code == 401
        assert (await anonymous.get("/api/v1/analytics/stream")).status_code == 401


async def test_live_counts_reach_redis(settings: Settings, site: Simulator) -> None:
    """With VTRACK_REDIS_URL the server publishes each channel's counts on Redis for other nodes."""
    with running_redis() as redis:
        application = create_app(
            settings.model_copy(update={"analytics_detector": "motion", "redis_url": redis.url})
        )
        async with application.router.lifespan_context(application):
            _, channel_id = await running_channel(application, site)
            events = redis_events(redis.url, "vtrack:analytics.counts")
            try:
                async with asyncio.timeout(15):
                    async for message in events:
                        if message["subject_id"] == channel_id:
                            break
            finally:
                await events.aclose()  # type: ignore[attr-defined]
    assert message["kind"] == "analytics.counts"
    assert message["payload"]["lines"]["door"].keys() == {"in", "out"}
