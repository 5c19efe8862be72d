"""The events API on SQLite and PostgreSQL: filters, paging, permissions, and health events flowing in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from tests.api.test_cameras import data, error
from tests.conftest import BACKENDS
from tests.health.shared_app import AppEnv, running_app
from vtrack.db.models import SystemEvent
from vtrack.db.types import utcnow
from vtrack.events.recorder import EventRecorder
from vtrack.health.monitor import STATUS_CHANGED

EVENTS = "/api/v1/events"


@pytest.fixture(scope="module", params=BACKENDS)
async def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AppEnv]:
    async with running_app(request, tmp_path_factory.mktemp("events-api")) as running:
        yield running


async def test_filters_paging_and_order(env: AppEnv) -> None:
    now = utcnow()
    async with env.services.database.transaction() as session:
        for age, kind, subject in [
            (50, STATUS_CHANGED, "cam-a"),
            (40, STATUS_CHANGED, "cam-b"),
            (30, "camera.snapshot", "cam-a"),
            (20, "source.synced", "src-1"),
            (10, STATUS_CHANGED, "cam-a"),
        ]:
            session.add(
                SystemEvent(
                    kind=kind,
                    subject_type=kind.split(".")[0],
                    subject_id=subject,
                    payload={"minutes": age},
                    at=now - timedelta(minutes=age),
                )
            )
    viewer = env.clients.viewer

    async def minutes(**params: str) -> list[int]:
        return [e["payload"]["minutes"] for e in data(await viewer.get(EVENTS, params=params))]

    assert await minutes() == [10, 20, 30, 40, 50]  # newest first
    assert await minutes(kind=STATUS_CHANGED) == [10, 40, 50]
    assert await minutes(kind="camera.*") == [10, 30, 40, 50]
    assert await minutes(subject_id="cam-a") == [10, 30, 50]
    assert await minutes(subject_type="source") == [20]
    assert await minutes(kind=STATUS_CHANGED, subject_id="cam-a") == [10, 50]
    since = (now - timedelta(minutes=35)).isoformat()
    until = (now - timedelta(minutes=10)).isoformat()
    assert await minutes(**{"from": since, "to": until}) == [20, 30]
    assert await minutes(kind="camera%") == []  # LIKE characters are not wildcards

    page = await viewer.get(EVENTS, params={"page_size": 2, "page": 2})
    body = page.json()
    assert [e["payload"]["minutes"] for e in body["data"]] == [30, 40]
    assert body["meta"] == {"page": 2, "pageSize": 2, "total": 5, "totalPages": 3}
    first = body["data"][0]
    assert set(first) == {"id", "at", "kind", "subjectType", "subjectId", "payload"}
    assert first["subjectType"] == "camera" and first["subjectId"] == "cam-a"

    error(await env.clients.anonymous.get(EVENTS), 401)
    error(await viewer.get(EVENTS, params={"page_size": 501}), 422)
    error(await viewer.get(EVENTS, params={"from": until, "to": since}), 422, "validation_error")


async def test_health_changes_are_events_in_the_api_and_on_the_bus(env: AppEnv) -> None:
    subscription = env.services.events.subscribe([STATUS_CHANGED])
    created = await env.clients.operator.post(
        "/api/v1/cameras", json={"name": "Events Cam", "rtsp_url": "rtsp://127.0.0.1:30/live"}
    )
    camera_id = data(created, 201)["id"]
    data(await env.clients.operator.post(f"/api/v1/cameras/{camera_id}/health/check"))
    published = await subscription.get(1)
    subscription.close()
    (listed,) = data(await env.clients.viewer.get(EVENTS, params={"subject_id": camera_id}))
    assert listed["id"] == published.id and listed["kind"] == STATUS_CHANGED
    assert listed["payload"]["from"] == "idle" and listed["payload"]["to"] == "online"
    assert listed["payload"]["name"] == "Events Cam"

    emitted = await EventRecorder(env.services.events).emit(
        env.services.database, "camera.note", "camera", camera_id, {"text": "hello"}
    )
    (note,) = data(await env.clients.viewer.get(EVENTS, params={"kind": "camera.note"}))
    assert note["id"] == emitted.id and note["payload"] == {"text": "hello"}
