"""The dashboard's live stream: camera status and counts from the bus, sync progress from the job table,
and only the sources the user may see."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI

from tests.conftest import ADMIN_PASSWORD
from tests.peers.http_server import serving
from tests.web.conftest import WebClients
from vtrack.db.models import JobRun, User, VideoSource
from vtrack.db.repositories.users import UserRepository
from vtrack.db.types import utcnow
from vtrack.events.bus import Event
from vtrack.services import Services
from vtrack.sync.service import SYNC_JOB
from vtrack.web.routes.stream import SyncWatch


async def _user(services: Services, username: str) -> User:
    async with services.database.session() as session:
        user = await UserRepository(session).by_username(username)
        assert user is not None
        return user


async def _sources(services: Services, owner: User) -> tuple[str, str]:
    async with services.database.transaction() as session:
        site = VideoSource(name="NVR lobby", source_type="nvr", protocol="hikvision", host="127.0.0.2")
        private = VideoSource(name="Alice's drive", source_type="s3", owner_id=owner.id)
        session.add_all([site, private])
        await session.flush()
        return site.id, private.id


async def _run(services: Services, source_id: str, **values: object) -> str:
    async with services.database.transaction() as session:
        run = JobRun(name=SYNC_JOB, params={"source_id": source_id}, **values)
        session.add(run)
        await session.flush()
        return run.id


async def _update(services: Services, run_id: str, **values: object) -> None:
    async with services.database.transaction() as session:
        run = await session.get(JobRun, run_id)
        assert run is not None
        for name, value in values.items():
            setattr(run, name, value)


async def test_sync_progress_is_reported_on_change_to_those_who_may_see_it(
    services: Services, web: WebClients
) -> None:
    admin = await _user(services, "admin")
    viewer = await _user(services, "viewer")
    site, private = await _sources(services, admin)
    site_run = await _run(services, site, status="running", progress=0.25, message="2/8 segments")
    await _run(
        services, private, status="running", progress=0.5, result={"chunks_planned": 4, "chunks_done": 2}
    )
    await _run(services, site, status="succeeded", progress=1.0, finished_at=utcnow() - timedelta(hours=1))

    watch_admin, watch_viewer = SyncWatch(services, admin), SyncWatch(services, viewer)
    seen = await watch_admin.changes()
    assert sorted((d["sourceId"], d["progress"], d["state"]) for d in seen) == sorted(
        [(site, 0.25, "running"), (private, 0.5, "running")]
    )
    cloud = next(d for d in seen if d["sourceId"] == private)
    assert (cloud["segmentsDone"], cloud["segmentsTotal"]) == (
        2,
        4,
    )  # a cloud run's files, as the API names them
    assert [d["sourceId"] for d in await watch_viewer.changes()] == [site]  # the cloud source is the admin's
    assert await watch_admin.changes() == []  # nothing changed

    await _update(services, site_run, status="succeeded", progress=1.0, finished_at=utcnow())
    [done] = await watch_viewer.changes()
    assert (done["jobId"], done["state"], done["progress"]) == (site_run, "done", 1.0)


async def test_the_stream_carries_camera_sync_and_count_events(app: FastAPI, services: Services) -> None:
    admin = await _user(services, "admin")
    site, _ = await _sources(services, admin)
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as browser:
        csrf = (await browser.get("/")).cookies["vtrack_csrf"]
        signed = await browser.post(
            "/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": csrf}
        )
        assert signed.status_code == 303
        async with browser.stream("GET", "/ui/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()

            async def next_event(kind: str) -> str:
                async with asyncio.timeout(10):
                    async for line in lines:
                        if line == f"event: {kind}":
                            return await anext(lines)
                raise AssertionError("stream ended")

            services.events.publish_event(
                Event(
                    "camera.status_changed",
                    "camera",
                    "cam-1",
                    {"name": "Gate", "from": "online", "to": "offline"},
                )
            )
            data = await next_event("camera")
            assert '"id":"cam-1"' in data and '"to":"offline"' in data
            services.events.publish_event(
                Event("analytics.counts", "channel", "ch-1", {"lines": {"door": {"in": 3}}})
            )
            assert '"id":"ch-1"' in await next_event("counts")
            await _run(services, site, status="running", progress=0.75)
            data = await next_event("sync")
            assert f'"sourceId":"{site}"' in data and '"progress":0.75' in data


async def test_the_stream_needs_a_session(web: WebClients, app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as stranger:
        answer = await stranger.get("/ui/stream")
    assert answer.status_code == 303
