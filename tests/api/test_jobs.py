"""The jobs API on SQLite and PostgreSQL: start a run, read its status and result, list types and runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.conftest import ADMIN_PASSWORD, Clients, client_for, login
from vtrack.db.models import AuditEntry
from vtrack.db.types import utcnow
from vtrack.jobs.registry import JobContext, JobResult
from vtrack.services import Services


@pytest.fixture
async def admin(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with client_for(app, await login(app, "admin", ADMIN_PASSWORD)) as client:
        yield client


async def finished(client: AsyncClient, run_id: str, within: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        response = await client.get(f"/api/v1/jobs/{run_id}")
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()["data"]
        if run["status"] not in {"queued", "running"}:
            return run
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.05)


async def test_audit_prune_runs_and_reports_what_it_deleted(admin: AsyncClient, services: Services) -> None:
    async with services.database.transaction() as session:
        session.add(AuditEntry(action="test.old", at=utcnow() - timedelta(days=10), details={}))
    response = await admin.post("/api/v1/jobs", json={"name": "audit.prune", "params": {"days": 1}})
    assert response.status_code == 202, response.text
    started = response.json()["data"]
    assert started["name"] == "audit.prune" and started["params"] == {"days": 1}
    assert started["trigger"] == "manual" and started["status"] in {"queued", "running", "succeeded"}
    run = await finished(admin, started["id"])
    assert run["status"] == "succeeded", run
    assert run["result"] == {"deleted": 1}  # the 10-day-old entry; the fixture's login is recent
    assert run["progress"] == 1.0 and run["error"] is None
    assert run["startedAt"] is not None and run["finishedAt"] is not None
    audit = await admin.get("/api/v1/audit", params={"action": "job.start"})
    assert [e["targetId"] for e in audit.json()["data"]] == [started["id"]]
    listed = await admin.get("/api/v1/jobs", params={"name": "audit.prune", "status": "succeeded"})
    assert started["id"] in [r["id"] for r in listed.json()["data"]]


async def test_a_run_that_fails_shows_why(admin: AsyncClient, services: Services) -> None:
    @services.job_registry.register("test.explode", "fails on purpose")
    async def explode(ctx: JobContext) -> JobResult:
        raise RuntimeError(f"boom {ctx.params['n']}")

    response = await admin.post("/api/v1/jobs", json={"name": "test.explode", "params": {"n": 7}})
    assert response.status_code == 202, response.text
    run = await finished(admin, response.json()["data"]["id"])
    assert run["status"] == "failed" and run["error"] == "RuntimeError: boom 7" and run["result"] is None

    # Parameters are checked when the run is asked for: a 422 naming the field, and no run recorded.
    before = (await admin.get("/api/v1/jobs")).json()["meta"]["total"]
    for params, field in (
        ({"days": "soon"}, "params.days"),
        ({"days": 0}, "params.days"),
        ({"x": 1}, "params.x"),
    ):
        bad = await admin.post("/api/v1/jobs", json={"name": "audit.prune", "params": params})
        assert bad.status_code == 422, bad.text
        assert bad.json()["error"]["details"][0]["field"] == field
    assert (await admin.get("/api/v1/jobs")).json()["meta"]["total"] == before


async def test_unknown_jobs_and_runs(admin: AsyncClient) -> None:
    response = await admin.post("/api/v1/jobs", json={"name": "no.such.job"})
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["success"] is False and error["error"]["code"] == "validation_error"
    assert error["error"]["details"][0]["field"] == "name"
    assert "audit.prune" in error["error"]["details"][0]["message"]
    missing = await admin.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_job_types_list_the_schedule(admin: AsyncClient) -> None:
    response = await admin.get("/api/v1/jobs/types")
    assert response.status_code == 200, response.text
    types = {t["name"]: t for t in response.json()["data"]}
    assert types["audit.prune"]["everySeconds"] == 24 * 3600
    assert "older than" in types["audit.prune"]["description"]
    # The schedule's first run starts with the app.
    runs = await admin.get("/api/v1/jobs", params={"name": "audit.prune"})
    assert "schedule" in {r["trigger"] for r in runs.json()["data"]}


async def test_a_viewer_can_read_runs_but_not_start_them(clients: Clients) -> None:
    started = await clients.operator.post(
        "/api/v1/jobs", json={"name": "audit.prune", "params": {"days": 30}}
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["data"]["id"]
    for path in ("/api/v1/jobs", f"/api/v1/jobs/{run_id}", "/api/v1/jobs/types"):
        assert (await clients.viewer.get(path)).status_code == 200, path
    refused = await clients.viewer.post("/api/v1/jobs", json={"name": "audit.prune", "params": {"days": 30}})
    assert refused.status_code == 403
    assert refused.json()["success"] is False and refused.json()["error"]["code"] == "forbidden"
    await finished(clients.viewer, run_id)


async def test_jobs_prune_keeps_recent_and_manual_runs(admin: AsyncClient, services: Services) -> None:
    from vtrack.db.models import JobRun

    now = utcnow()
    async with services.database.transaction() as session:
        for trigger, age, status in [
            ("schedule", 10, "succeeded"),  # old scheduled: goes
            ("schedule", 1, "succeeded"),  # recent scheduled: stays
            ("manual", 10, "failed"),  # manual, not 90 days old: stays
            ("manual", 100, "succeeded"),  # anything past 90 days: goes
            ("schedule", 10, "running"),  # unfinished: never
        ]:
            session.add(
                JobRun(
                    name="seeded.run", trigger=trigger, status=status, finished_at=now - timedelta(days=age)
                )
            )
    response = await admin.post("/api/v1/jobs", json={"name": "jobs.prune"})
    run = await finished(admin, response.json()["data"]["id"])
    assert run["status"] == "succeeded" and run["result"] == {"deleted": 2}, run
    left = (await admin.get("/api/v1/jobs", params={"name": "seeded.run", "page_size": 50})).json()["data"]
    assert sorted((r["trigger"], r["status"]) for r in left) == [
        ("manual", "failed"),
        ("schedule", "running"),
        ("schedule", "succeeded"),
    ]
