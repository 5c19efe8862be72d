"""Health, docs, metrics, and the rule that every /api/v1 endpoint but login and refresh needs a token."""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import ASGITransport, AsyncClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ADMIN_PASSWORD, Clients, client_for, login
from vtrack import __version__
from vtrack.db.repositories.users import UserRepository
from vtrack.db.session import Database
from vtrack.services import Services

# Snapshot files are fetched by <img> tags, which carry no token: a signed, expiring link is the credential
# (tests/api/test_camera_ops_api.py shows a forged or swapped link is refused).
SNAPSHOT_FILE = "/api/v1/snapshots/{snapshot_id}/{variant}"
# The provider redirects the user's browser (no API token) to the OAuth callback; its single-use state,
# bound to the signed-in user who started, is the credential (tests/api/test_cloud_oauth_api.py).
OAUTH_CALLBACK = "/api/v1/cloud/{provider_name}/oauth/callback"
PUBLIC_API = {"/api/v1/auth/login", "/api/v1/auth/refresh", SNAPSHOT_FILE, OAUTH_CALLBACK}
CAMERA_ROUTE = "/api/v1/cameras/{camera_id}"


async def test_healthz_answers_without_a_token(app: FastAPI) -> None:
    async with client_for(app) as anonymous:
        response = await anonymous.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__, "database": "ok"}


async def test_healthz_reports_an_unreachable_database(app: FastAPI, services: Services) -> None:
    working = services.database
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    services.database = Database("postgresql+asyncpg://nobody:none@127.0.0.1:1/none")
    try:
        async with client_for(app) as anonymous:
            response = await anonymous.get("/healthz")
    finally:
        await services.database.dispose()
        services.database = working
    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "database_unavailable"
    assert "nobody" not in response.text and "none@" not in response.text  # no URL, no credentials


async def test_docs_and_openapi_are_served(app: FastAPI) -> None:
    async with client_for(app) as anonymous:
        docs = await anonymous.get("/docs")
        response = await anonymous.get("/openapi.json")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in docs.text and "/openapi.json" in docs.text
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "vtrack" and spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            secured = operation.get("security") == [{"HTTPBearer": []}]
            assert secured == (path.startswith("/api/v1") and path not in PUBLIC_API), (method, path)


def families(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    return {
        family.name: [(s.name, dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


async def test_metrics_count_requests_by_route_template_with_latency(app: FastAPI) -> None:
    camera_id = str(uuid.uuid4())
    async with (
        client_for(app, await login(app, "admin", ADMIN_PASSWORD)) as admin,
        client_for(app) as anonymous,
    ):
        for _ in range(2):
            assert (await admin.get(f"/api/v1/cameras/{camera_id}")).status_code == 404
        assert (await anonymous.get(f"/api/v1/cameras/{camera_id}")).status_code == 401
        assert (await admin.get("/api/v1/cameras")).status_code == 200
        assert (await anonymous.get("/no/such/page")).status_code == 404
        response = await anonymous.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert camera_id not in response.text and "/no/such/page" not in response.text
    metrics = families(response.text)

    counts = {
        (labels["method"], labels["route"], labels["status"]): value
        for name, labels, value in metrics["vtrack_http_requests"]
        if name == "vtrack_http_requests_total"
    }
    assert counts[("GET", CAMERA_ROUTE, "404")] == 2
    assert counts[("GET", CAMERA_ROUTE, "401")] == 1
    assert counts[("GET", "/api/v1/cameras", "200")] == 1
    assert counts[("GET", "unmatched", "404")] == 1
    assert counts[("POST", "/api/v1/auth/login", "200")] == 1

    latency = metrics["vtrack_http_request_duration_seconds"]
    camera = [(name, labels, value) for name, labels, value in latency if labels.get("route") == CAMERA_ROUTE]
    by_name = {(name, labels.get("le")): value for name, labels, value in camera}
    assert by_name[("vtrack_http_request_duration_seconds_count", None)] == 3
    assert by_name[("vtrack_http_request_duration_seconds_bucket", "+Inf")] == 3
    assert by_name[("vtrack_http_request_duration_seconds_sum", None)] > 0
    assert ("vtrack_http_request_duration_seconds_bucket", "0.005") in by_name


def api_calls(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves under /api/v1, path parameters filled with a dummy uuid.

    Included routers are lazy nodes in app.routes (FastAPI >= 0.137); iter_route_contexts walks them
    and gives each route its full, prefixed path.
    """
    dummy = str(uuid.uuid4())
    calls = []
    for route in iter_route_contexts(app.routes):
        path = route.path
        if isinstance(route.original_route, APIRoute) and path and path.startswith("/api/v1"):
            if path not in PUBLIC_API:
                concrete = re.sub(r"\{[^}]+\}", dummy, path)
                calls.extend((method, concrete) for method in sorted(route.methods or ()))
    return calls


async def test_every_api_endpoint_but_login_and_refresh_needs_a_token(
    app: FastAPI, services: Services
) -> None:
    calls = api_calls(app)
    assert len(calls) >= 25, calls
    async with services.database.session() as session:
        admin = await UserRepository(session).by_username("admin")
    assert admin is not None
    # A valid token, but a refresh token: it must not open the API either.
    refresh_token = services.tokens.issue(admin.id, admin.token_version).refresh_token
    async with client_for(app) as anonymous:
        for token in (None, "not-a-jwt", refresh_token):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            for method, path in calls:
                body = {} if method in {"POST", "PUT", "PATCH"} else None
                response = await anonymous.request(method, path, json=body, headers=headers)
                assert response.status_code == 401, (token, method, path, response.text)
                assert response.headers["www-authenticate"] == "Bearer"
                error = response.json()
                assert error["success"] is False and error["error"]["code"] == "unauthorized", error
        for path in sorted(PUBLIC_API - {SNAPSHOT_FILE, OAUTH_CALLBACK}):
            # Reachable without a token: an empty body is a validation error, not an authentication one.
            response = await anonymous.post(path, json={})
            assert response.status_code == 422, (path, response.text)
        # The snapshot link without its signature: a validation error too, not an authentication one.
        response = await anonymous.get(
            SNAPSHOT_FILE.replace("{snapshot_id}", "x").replace("{variant}", "image")
        )
        assert response.status_code == 422 and "expires" in response.text


async def test_an_unexpected_error_is_a_500_envelope_and_is_counted(app: FastAPI) -> None:
    async def broken() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/test/broken", broken)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/test/broken")
        metrics = await client.get("/metrics")
    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "error": {"code": "internal_error", "message": "an unexpected error occurred", "details": None},
    }
    assert "secret internals" not in response.text
    assert 'vtrack_http_requests_total{method="GET",route="/test/broken",status="500"} 1.0' in metrics.text


async def test_nul_in_url_is_a_clear_422_on_every_database(clients: Clients) -> None:
    # PostgreSQL cannot hold NUL in text; without the guard these reached the driver and answered 500.
    for url in (
        "/api/v1/cameras/a%00b",
        "/api/v1/cameras?q=a%00b",
        "/api/v1/cameras/groups?q=x%00",
        "/api/v1/jobs?name=a%00b",
        "/api/v1/cameras/export?group_id=a%00b",
    ):
        response = await clients.admin.get(url)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["success"] is False
        assert "NUL" in response.json()["error"]["message"]
