"""Dashboard fixtures: browsers-without-a-browser (httpx clients holding the session cookie) per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.conftest import ADMIN_PASSWORD, Clients, client_for
from tests.web.browser import browser_fixture, live_server_fixture, page_fixture  # noqa: F401  (fixtures)
from vtrack.security.web_session import CSRF_COOKIE, CSRF_HEADER


@asynccontextmanager
async def signed_in(app: FastAPI, username: str, password: str) -> AsyncIterator[AsyncClient]:
    """A client that signed in through the login form, as a browser does; it sends the CSRF header on every
    request, as the dashboard's scripts do."""
    async with client_for(app) as client:
        yield await _sign_in(client, username, password)


async def _sign_in(client: AsyncClient, username: str, password: str) -> AsyncClient:
    await client.get("/")
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": client.cookies[CSRF_COOKIE]},
    )
    assert response.status_code == 303, response.text
    client.headers[CSRF_HEADER] = client.cookies[CSRF_COOKIE]
    return client


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Pages read through the repositories the API tests already run on both databases; SQLite is enough."""
    return str(request.param)


@dataclass
class WebClients:
    api: Clients  # bearer-token clients, for setting up data through the API
    admin: AsyncClient
    operator: AsyncClient
    viewer: AsyncClient


@pytest.fixture
async def web(app: FastAPI, clients: Clients) -> AsyncIterator[WebClients]:
    async with (
        signed_in(app, "admin", ADMIN_PASSWORD) as admin,
        signed_in(app, "operator", "operator-pass-123") as operator,
        signed_in(app, "viewer", "viewer-pass-123") as viewer,
    ):
        yield WebClients(api=clients, admin=admin, operator=operator, viewer=viewer)
