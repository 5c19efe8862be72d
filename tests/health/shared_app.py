"""One app per backend for a whole test module, with every check going to a scripted prober.

The conftest's function-scoped `app` and `clients` cost a migration and five Argon2 hashes per test
(3-6 s on the shared 2-core box); health and event API tests only add rows, so a module shares one app
and each test works on cameras of its own (own names, own group, own fake URLs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.conftest import ADMIN_PASSWORD, Clients, client_for, fresh_postgres_database, login
from tests.health.fakes import FakeProber
from vtrack.app import create_app
from vtrack.health.checker import HealthChecker
from vtrack.services import Services
from vtrack.settings import Settings


@dataclass
class AppEnv:
    app: FastAPI
    services: Services
    clients: Clients
    prober: FakeProber


@asynccontextmanager
async def running_app(request: pytest.FixtureRequest, tmp: Path) -> AsyncIterator[AppEnv]:
    backend = str(request.param)
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'data' / 'vtrack.db'}"
    else:
        url = await fresh_postgres_database(request.getfixturevalue("postgres_server"))
    settings = Settings(data_dir=tmp / "data", database_url=url, admin_password=ADMIN_PASSWORD)
    app = create_app(settings)
    services: Services = app.state.services
    prober = FakeProber()
    services.health.checker = HealthChecker(prober, timeout=1.0)  # before any camera exists
    async with app.router.lifespan_context(app):
        async with client_for(app, await login(app, "admin", ADMIN_PASSWORD)) as admin:
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
                clients = Clients(anonymous=anonymous, admin=admin, operator=operator, viewer=viewer)
                yield AppEnv(app, services, clients, prober)
