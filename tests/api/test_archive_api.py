"""GET /api/v1/archive/health on SQLite and PostgreSQL: always 200, `ok` false with the reason when not.

One app per backend serves the module (tests/health/shared_app.py); each test points the archive at a
directory of its own and puts the settings back afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS, Clients
from tests.health.shared_app import AppEnv, running_app
from vtrack.services import Services
from vtrack.settings import Settings

HEALTH = "/api/v1/archive/health"


@pytest.fixture(scope="module", params=BACKENDS)
async def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AppEnv]:
    async with running_app(request, tmp_path_factory.mktemp("archive-api")) as running:
        yield running


@pytest.fixture
def clients(env: AppEnv) -> Clients:
    return env.clients


@pytest.fixture
def settings(env: AppEnv, tmp_path: Path) -> Iterator[Settings]:
    services: Services = env.services
    saved = services.settings.archive_dir, services.settings.archive_reserve_gb
    services.settings.archive_dir = tmp_path / "archive"
    services.settings.archive_reserve_gb = 0.0  # so the box's real free space does not decide the test
    yield services.settings
    services.settings.archive_dir, services.settings.archive_reserve_gb = saved


async def health(clients: Clients) -> dict[str, Any]:
    response = await clients.viewer.get(HEALTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is True
    return dict(body["data"])


async def test_a_writable_archive_is_ok(clients: Clients, settings: Settings) -> None:
    settings.resolved_archive_dir.mkdir()
    data = await health(clients)
    assert data["ok"] is True and data["problem"] is None
    assert data["root"] == str(settings.resolved_archive_dir)
    assert data["exists"] is True and data["writable"] is True
    assert 0 < data["freeBytes"] <= data["totalBytes"]
    assert data["reserveBytes"] == 0 and data["reserveInodes"] == 10_000 and "checkedAt" in data
    assert list(settings.resolved_archive_dir.iterdir()) == []


async def test_a_missing_archive_is_reported_not_created(clients: Clients, settings: Settings) -> None:
    data = await health(clients)
    assert data["ok"] is False and data["exists"] is False and data["freeBytes"] is None
    assert data["problem"] == f"archive directory {settings.resolved_archive_dir} does not exist"
    assert not settings.resolved_archive_dir.exists()


async def test_below_the_reserve_is_reported(clients: Clients, settings: Settings) -> None:
    settings.resolved_archive_dir.mkdir()
    settings.archive_reserve_gb = 1_000_000.0
    data = await health(clients)
    assert data["ok"] is False and data["writable"] is True
    assert data["reserveGb"] == 1_000_000.0 and data["reserveBytes"] == 10**15
    assert data["problem"].endswith("below the 1000000.0 GB reserve (VTRACK_ARCHIVE_RESERVE_GB)")


async def test_needs_a_token(clients: Clients, settings: Settings) -> None:
    response = await clients.anonymous.get(HEALTH)
    assert response.status_code == 401 and response.json()["success"] is False
    assert (await clients.operator.get(HEALTH)).status_code == 200
