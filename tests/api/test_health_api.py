"""Health endpoints, jobs and metrics end to end on SQLite and PostgreSQL, with a scripted prober.

One app per backend serves the whole module (see tests/health/shared_app.py); each test makes cameras
of its own, on fake URLs of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import insert

from tests.api.test_cameras import data, error
from tests.conftest import BACKENDS, Clients
from tests.health.fakes import AUTH, DOWN, SLOW, FakeProber
from tests.health.shared_app import AppEnv, running_app
from vtrack.db.models import CameraHealth, SystemEvent
from vtrack.db.types import utcnow
from vtrack.health.monitor import STATUS_CHANGED
from vtrack.services import Services

CAMERAS = "/api/v1/cameras"
PASSWORD = "pw-not-in-logs-42"


@pytest.fixture(scope="module", params=BACKENDS)
async def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AppEnv]:
    async with running_app(request, tmp_path_factory.mktemp("health-api")) as running:
        yield running


@pytest.fixture
def clients(env: AppEnv) -> Clients:
    return env.clients


@pytest.fixture
def services(env: AppEnv) -> Services:
    return env.services


@pytest.fixture
def prober(env: AppEnv) -> FakeProber:
    env.prober.calls.clear()
    env.prober.scripts.clear()
    return env.prober


async def make_camera(client: AsyncClient, name: str, port: int = 9, **extra: Any) -> dict[str, Any]:
    body = {"name": name, "rtsp_url": f"rtsp://admin:{PASSWORD}@127.0.0.1:{port}/live", "fps": 25, **extra}
    result: dict[str, Any] = data(await client.post(CAMERAS, json=body), 201)
    return result


def url(port: int = 9) -> str:
    return f"rtsp://127.0.0.1:{port}/live"


async def test_health_of_a_camera_with_its_history(
    clients: Clients, services: Services, prober: FakeProber
) -> None:
    camera = await make_camera(clients.operator, "Front Door", port=20)
    for answer in (None, DOWN, DOWN, DOWN):
        prober.scripts.pop(url(20), None)
        if answer is not None:
            prober.script(url(20), answer)
        await services.health.run_round()
    (first, *_) = [c for c in prober.calls if c["url"] == url(20)]
    assert first["password"] == PASSWORD and first["username"] == "admin"

    response = await clients.viewer.get(f"{CAMERAS}/{camera['id']}/health", params={"page_size": 3})
    body = response.json()
    assert response.status_code == 200 and body["success"] is True
    health = body["data"]
    assert health["cameraId"] == camera["id"] and health["name"] == "Front Door"
    assert health["status"] == "offline" and health["isActive"] is True
    assert health["consecutiveFailures"] == 3 and health["consecutiveSuccesses"] == 0
    assert health["lastConnectedAt"] < health["lastCheckedAt"]
    assert [h["status"] for h in health["history"]] == ["offline", "degraded", "degraded"]  # newest first
    assert health["history"][0]["errorKind"] == "unreachable" and not health["history"][0]["isConnected"]
    assert set(health["history"][0]) == {
        "id",
        "checkedAt",
        "isConnected",
        "status",
        "latencyMs",
        "fpsActual",
        "firstFrameMs",
        "errorKind",
        "error",
    }
    assert body["meta"] == {"page": 1, "pageSize": 3, "total": 4, "totalPages": 2}
    second = data(
        await clients.viewer.get(f"{CAMERAS}/{camera['id']}/health", params={"page_size": 3, "page": 2})
    )
    assert [h["status"] for h in second["history"]] == ["online"] and second["history"][0]["latencyMs"] == 5.0

    # A time window: from is inclusive, to exclusive; times without a zone are UTC.
    oldest = second["history"][0]["checkedAt"]
    window = await clients.viewer.get(f"{CAMERAS}/{camera['id']}/health", params={"to": oldest})
    assert window.json()["meta"]["total"] == 0
    naive = oldest.replace("Z", "").replace("+00:00", "")
    window = await clients.viewer.get(f"{CAMERAS}/{camera['id']}/health", params={"from": naive})
    assert window.json()["meta"]["total"] == 4
    bad = await clients.viewer.get(f"{CAMERAS}/{camera['id']}/health", params={"from": oldest, "to": oldest})
    error(bad, 422, "validation_error")


async def test_health_errors(clients: Clients, prober: FakeProber) -> None:
    error(await clients.viewer.get(f"{CAMERAS}/nope/health"), 404, "not_found")
    error(await clients.anonymous.get(f"{CAMERAS}/nope/health"), 401)
    error(await clients.viewer.get(f"{CAMERAS}/nope/health", params={"page_size": 0}), 422)
    error(await clients.viewer.get(f"{CAMERAS}/nope/health", params={"from": "yesterday"}), 422)
    camera = await make_camera(clients.operator, "Out of range", port=26)
    far = {"from": "0001-01-01T00:00:00+05:00", "to": "9999-12-31T23:00:00-05:00"}
    err = error(await clients.viewer.get(f"{CAMERAS}/{camera['id']}/health", params=far), 422)
    assert err["details"][0]["field"] == "from"
    error(await clients.operator.post(f"{CAMERAS}/nope/health/check"), 404, "not_found")
    assert prober.calls == []


async def test_check_now(clients: Clients, services: Services, prober: FakeProber) -> None:
    camera = await make_camera(clients.operator, "Gate", port=21)
    error(await clients.viewer.post(f"{CAMERAS}/{camera['id']}/health/check"), 403, "forbidden")
    prober.script(url(21), SLOW)
    checked = data(await clients.operator.post(f"{CAMERAS}/{camera['id']}/health/check"))
    assert checked["cameraId"] == camera["id"] and checked["name"] == "Gate"
    assert (checked["status"], checked["previousStatus"], checked["changed"]) == ("degraded", "idle", True)
    assert checked["reason"] == "latency 2500 ms > 1000 ms" and checked["isConnected"] is True
    assert (checked["codec"], checked["width"], checked["height"]) == ("H264", 640, 360)
    assert checked["latencyMs"] == 2500.0 and checked["fpsActual"] == 25.0 and checked["durationMs"] >= 0
    prober.script(url(21), AUTH)
    checked = data(await clients.admin.post(f"{CAMERAS}/{camera['id']}/health/check"))
    assert (checked["status"], checked["changed"], checked["errorKind"]) == ("degraded", False, "auth")
    assert checked["error"] == "camera at 127.0.0.1:9 refused the credentials"  # what the fake says
    camera_now = data(await clients.viewer.get(f"{CAMERAS}/{camera['id']}"))
    assert camera_now["status"] == "degraded"
    events = data(await clients.viewer.get("/api/v1/events", params={"subject_id": camera["id"]}))
    assert [(e["payload"]["from"], e["payload"]["to"]) for e in events] == [("idle", "degraded")]


async def seed_history(services: Services, camera_id: str) -> None:
    """40 good checks at 1..40 ms and 10 failures in the last day, one slow check two days ago."""
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "camera_id": camera_id,
            "checked_at": now - timedelta(minutes=n + 1),
            "is_connected": True,
            "status": "online",
            "latency_ms": float(n + 1),
            "fps_actual": 20.0 if n % 2 else 10.0,
        }
        for n in range(40)
    ]
    rows += [
        {
            "camera_id": camera_id,
            "checked_at": now - timedelta(hours=2, minutes=n),
            "is_connected": False,
            "status": "offline",
        }
        for n in range(10)
    ]
    rows.append(
        {
            "camera_id": camera_id,
            "checked_at": now - timedelta(days=2),
            "is_connected": True,
            "status": "online",
            "latency_ms": 5000.0,
        }
    )
    async with services.database.transaction() as session:
        await session.execute(insert(CameraHealth), rows)
        for minutes, to in ((200, "offline"), (100, "online"), (30 * 60 * 24, "offline")):
            session.add(
                SystemEvent(
                    kind=STATUS_CHANGED,
                    subject_type="camera",
                    subject_id=camera_id,
                    payload={"to": to},
                    at=now - timedelta(minutes=minutes),
                )
            )


async def test_health_report(clients: Clients, services: Services, prober: FakeProber) -> None:
    group = data(await clients.operator.post(f"{CAMERAS}/groups", json={"name": "Report"}), 201)["id"]
    busy = await make_camera(clients.operator, "Busy", port=22, group_id=group)
    quiet = await make_camera(clients.operator, "Quiet", port=23, group_id=group)
    await make_camera(clients.operator, "Switched off", port=24, is_active=False, group_id=group)
    await seed_history(services, busy["id"])
    prober.script(url(23), DOWN)
    await services.health.check_camera(quiet["id"])

    report = data(await clients.viewer.get("/api/v1/health/report", params={"group_id": group}))
    assert report["hours"] == 24 and report["cameras"] == 2  # active cameras only
    assert report["byStatus"] == {"idle": 1, "offline": 1}
    assert report["checks"] == 51 and report["uptimePercent"] == pytest.approx(100 * 40 / 51, abs=0.01)
    items = {item["name"]: item for item in report["items"]}
    assert list(items) == ["Busy", "Quiet"]
    busy_report = items["Busy"]
    assert busy_report["checks"] == 50 and busy_report["uptimePercent"] == 80.0
    assert busy_report["avgLatencyMs"] == 20.5 and busy_report["p95LatencyMs"] == 38.0
    assert busy_report["avgFps"] == 15.0 and busy_report["stateChanges"] == 2
    quiet_report = items["Quiet"]
    assert quiet_report["checks"] == 1 and quiet_report["uptimePercent"] == 0.0
    assert quiet_report["avgLatencyMs"] is None and quiet_report["p95LatencyMs"] is None
    assert quiet_report["stateChanges"] == 1 and quiet_report["status"] == "offline"

    everyone = data(await clients.viewer.get("/api/v1/health/report"))
    assert {"Busy", "Quiet"} <= {i["name"] for i in everyone["items"]}
    week = data(
        await clients.viewer.get("/api/v1/health/report", params={"hours": 24 * 7, "group_id": group})
    )
    assert {i["name"]: i["checks"] for i in week["items"]}["Busy"] == 51
    error(await clients.viewer.get("/api/v1/health/report", params={"hours": 0}), 422)
    error(await clients.anonymous.get("/api/v1/health/report"), 401)


async def test_jobs_and_metrics(clients: Clients, services: Services, prober: FakeProber) -> None:
    camera = await make_camera(clients.operator, "Lobby", port=25)
    types = {t["name"]: t for t in data(await clients.viewer.get("/api/v1/jobs/types"))}
    assert types["health.check"]["everySeconds"] == services.settings.health_interval_seconds
    assert types["health.cleanup"]["everySeconds"] == 7 * 24 * 3600

    started = data(await clients.operator.post("/api/v1/jobs", json={"name": "health.check"}), 202)
    await services.jobs.wait(started["id"])
    run = data(await clients.viewer.get(f"/api/v1/jobs/{started['id']}"))
    assert run["status"] == "succeeded", run
    assert run["result"]["checked"] >= 1 and run["result"]["byStatus"]["online"] >= 1

    metrics = (await clients.anonymous.get("/metrics")).text
    assert f'vtrack_camera_up{{camera_id="{camera["id"]}",name="Lobby"}} 1.0' in metrics
    assert f'vtrack_camera_status{{camera_id="{camera["id"]}",name="Lobby",status="online"}} 1.0' in metrics
    assert "vtrack_health_round_duration_seconds" in metrics

    assert (await clients.operator.delete(f"{CAMERAS}/{camera['id']}")).status_code == 204
    started = data(await clients.operator.post("/api/v1/jobs", json={"name": "health.check"}), 202)
    await services.jobs.wait(started["id"])
    assert camera["id"] not in (await clients.anonymous.get("/metrics")).text

    cleanup = data(
        await clients.operator.post("/api/v1/jobs", json={"name": "health.cleanup", "params": {"days": 1}}),
        202,
    )
    await services.jobs.wait(cleanup["id"])
    run = data(await clients.viewer.get(f"/api/v1/jobs/{cleanup['id']}"))
    assert run["status"] == "succeeded" and set(run["result"]) == {"samples", "events"}
    error(
        await clients.operator.post("/api/v1/jobs", json={"name": "health.cleanup", "params": {"days": 0}}),
        422,
    )
