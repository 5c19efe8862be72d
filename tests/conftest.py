"""Shared fixtures: the app on SQLite and on a real PostgreSQL, logged-in clients per role."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.peers.postgres import running_postgres
from vtrack.app import create_app
from vtrack.db.migrate import upgrade
from vtrack.db.session import Database
from vtrack.services import Services
from vtrack.settings import Settings

ADMIN_PASSWORD = "admin-pass-123"


def archive_settings(tmp_path: Path, database_url: str, **extra: Any) -> Settings:
    """For tests that sync into the archive: no disk reserve (a test's temporary disk is small), and no
    health round in the way."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,  # type: ignore[arg-type]
        archive_reserve_gb=0,
        archive_reserve_inodes=0,
        health_interval_seconds=3600,
        **extra,
    )


BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    with running_postgres() as url:
        yield url


async def fresh_postgres_database(server_url: str) -> str:
    """A new empty database per test: cheaper than cleaning tables, and no test sees another's rows."""
    name = f"t_{secrets.token_hex(6)}"
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    await engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'vtrack.db'}"
    server = request.getfixturevalue("postgres_server")
    return await fresh_postgres_database(server)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,  # type: ignore[arg-type]
        login_max_failures=5,
        # Tests' cameras often have made-up addresses; pictures are taken when a test asks for them.
        snapshot_refresh_minutes=0,
    )


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The schema at head without the app around it, for repository-level tests."""
    db = Database(settings.resolved_database_url)
    await upgrade(db)
    yield db
    await db.dispose()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def services(app: FastAPI) -> Services:
    result: Services = app.state.services
    return result


def client_for(app: FastAPI, token: str | None = None) -> AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return AsyncClient(
        transport=ASGITransport(app=app, client=("127.0.0.9", 50000)), base_url="http://test", headers=headers
    )


async def login(app: FastAPI, username: str, password: str) -> str:
    async with client_for(app) as anonymous:
        response = await anonymous.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["accessToken"])


@dataclass
class Clients:
    anonymous: AsyncClient
    admin: AsyncClient
    operator: AsyncClient
    viewer: AsyncClient


@pytest.fixture
async def clients(app: FastAPI) -> AsyncIterator[Clients]:
    admin_token = await login(app, "admin", ADMIN_PASSWORD)
    async with client_for(app, admin_token) as admin:
        for role in ("operator", "viewer"):
            response = await admin.post(
                "/api/v1/users", json={"username": role, "password": f"{role}-pass-123", "role": role}
            )
            assert response.status_code == 201, response.text
        async with (
            client_for(app) as anonymous,
            client_for(app, await login(app, "operator", "operator-pass-123")) as operator,
            client_for(app, await login(app, "viewer", "viewer-pass-123")) as viewer,
        ):
            yield Clients(anonymous=anonymous, admin=admin, operator=operator, viewer=viewer)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
