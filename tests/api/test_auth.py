"""Login, refresh, token invalidation, throttling and the audit trail, on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import select

from tests.conftest import ADMIN_PASSWORD, Clients, client_for, login
from vtrack.db.models import AuditEntry
from vtrack.services import Services

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"


def assert_error(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


def assert_unauthorized(response: Response) -> None:
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


async def audit_rows(services: Services, action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    async with services.database.session() as session:
        return list((await session.execute(query)).scalars())


async def create_user(admin: AsyncClient, username: str, password: str, role: str = "viewer") -> str:
    response = await admin.post(
        "/api/v1/users", json={"username": username, "password": password, "role": role}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def test_login_refresh_and_me(app: FastAPI, services: Services) -> None:
    async with client_for(app) as anonymous:
        response = await anonymous.post(LOGIN, json={"username": "admin", "password": ADMIN_PASSWORD})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True
        data = body["data"]
        assert set(data) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
        assert data["tokenType"] == "bearer"
        assert data["expiresIn"] == services.settings.access_token_minutes * 60

        async with client_for(app, data["accessToken"]) as admin:
            me = await admin.get(ME)
            assert me.status_code == 200, me.text
            assert me.json()["data"]["username"] == "admin" and me.json()["data"]["lastLoginAt"] is not None
            assert "passwordHash" not in me.json()["data"]

        # Refresh gives a new working pair; both spellings of the field are accepted.
        for field in ("refresh_token", "refreshToken"):
            refreshed = await anonymous.post(REFRESH, json={field: data["refreshToken"]})
            assert refreshed.status_code == 200, refreshed.text
            pair = refreshed.json()["data"]
            assert set(pair) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
            async with client_for(app, pair["accessToken"]) as again:
                assert (await again.get(ME)).status_code == 200

        # An access token is not a refresh token, nor the other way round.
        assert_unauthorized(await anonymous.post(REFRESH, json={"refresh_token": data["accessToken"]}))
        assert_unauthorized(await anonymous.post(REFRESH, json={"refresh_token": "not.a.token"}))
        async with client_for(app, data["refreshToken"]) as wrong_kind:
            assert_unauthorized(await wrong_kind.get(ME))
        async with client_for(app, "garbage") as garbage:
            assert_unauthorized(await garbage.get(ME))
        assert_unauthorized(await anonymous.get(ME))
        assert_unauthorized(await anonymous.get("/api/v1/users"))

        # Wrong password and unknown user look the same.
        wrong = await anonymous.post(LOGIN, json={"username": "admin", "password": "wrong-password"})
        unknown = await anonymous.post(LOGIN, json={"username": "nobody", "password": "wrong-password"})
        assert_unauthorized(wrong)
        assert_unauthorized(unknown)
        assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
        assert "wrong-password" not in wrong.text

        invalid = await anonymous.post(LOGIN, json={"username": "admin"})
        assert_error(invalid, 422, "validation_error")
        assert invalid.json()["error"]["details"][0]["field"] == "password"
        assert_error(
            await anonymous.post(LOGIN, json={"username": "admin", "password": ""}), 422, "validation_error"
        )
        for name in ("ad\x00min", "\x00", "admin\n"):
            nul = await anonymous.post(LOGIN, json={"username": name, "password": "wrong-password"})
            assert_error(nul, 422, "validation_error")


async def test_password_change_ends_old_sessions(clients: Clients, app: FastAPI, services: Services) -> None:
    user_id = await create_user(clients.admin, "bob", "bob-pass-123")
    async with client_for(app) as anonymous:
        first = (await anonymous.post(LOGIN, json={"username": "bob", "password": "bob-pass-123"})).json()[
            "data"
        ]
        changed = await clients.admin.put(f"/api/v1/users/{user_id}", json={"password": "bob-pass-456"})
        assert changed.status_code == 200, changed.text
        assert "bob-pass-456" not in changed.text

        assert_unauthorized(await anonymous.post(REFRESH, json={"refresh_token": first["refreshToken"]}))
        async with client_for(app, first["accessToken"]) as old:
            assert_unauthorized(await old.get(ME))
        assert_unauthorized(await anonymous.post(LOGIN, json={"username": "bob", "password": "bob-pass-123"}))
        token = await login(app, "bob", "bob-pass-456")
        async with client_for(app, token) as bob:
            assert (await bob.get(ME)).status_code == 200

    # A role change alone keeps sessions (nothing about the credentials changed).
    second = (
        await clients.anonymous.post(LOGIN, json={"username": "bob", "password": "bob-pass-456"})
    ).json()
    assert (await clients.admin.put(f"/api/v1/users/{user_id}", json={"role": "operator"})).status_code == 200
    refreshed = await clients.anonymous.post(REFRESH, json={"refresh_token": second["data"]["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text

    updates = await audit_rows(services, "user.update")
    assert [row.details["fields"] for row in updates] == [["password"], ["role"]]
    assert all(row.actor_name == "admin" and row.target_id == user_id for row in updates)
    assert all("bob-pass" not in str(row.details) for row in updates)


async def test_deactivated_user_is_locked_out(clients: Clients, app: FastAPI, services: Services) -> None:
    user_id = await create_user(clients.admin, "carol", "carol-pass-1")
    pair = (
        await clients.anonymous.post(LOGIN, json={"username": "carol", "password": "carol-pass-1"})
    ).json()["data"]
    response = await clients.admin.put(f"/api/v1/users/{user_id}", json={"is_active": False})
    assert response.status_code == 200 and response.json()["data"]["isActive"] is False

    async with client_for(app, pair["accessToken"]) as carol:
        assert_unauthorized(await carol.get(ME))
    assert_unauthorized(await clients.anonymous.post(REFRESH, json={"refresh_token": pair["refreshToken"]}))
    assert_unauthorized(
        await clients.anonymous.post(LOGIN, json={"username": "carol", "password": "carol-pass-1"})
    )

    # Reactivated: a fresh login works, the tokens from before stay dead.
    assert (await clients.admin.put(f"/api/v1/users/{user_id}", json={"is_active": True})).status_code == 200
    assert (
        await clients.anonymous.post(LOGIN, json={"username": "carol", "password": "carol-pass-1"})
    ).status_code == 200
    assert_unauthorized(await clients.anonymous.post(REFRESH, json={"refresh_token": pair["refreshToken"]}))

    failures = [r for r in await audit_rows(services, "auth.login") if r.actor_name == "carol"]
    assert [(r.outcome, r.details.get("reason")) for r in failures] == [
        ("success", None),
        ("failure", "inactive"),
        ("success", None),
    ]


async def test_failed_logins_are_throttled_and_audited(app: FastAPI, services: Services) -> None:
    admin_token = await login(app, "admin", ADMIN_PASSWORD)
    async with client_for(app) as anonymous, client_for(app, admin_token) as admin:
        # Spelling variants of one account share its budget.
        for name in ["admin", "ADMIN", " admin", "admin ", "Admin"]:
            response = await anonymous.post(LOGIN, json={"username": name, "password": "wrong-pass-x"})
            assert_unauthorized(response)
            assert "retry-after" not in response.headers

        for password in ("wrong-pass-x", ADMIN_PASSWORD):
            throttled = await anonymous.post(LOGIN, json={"username": "admin", "password": password})
            assert_error(throttled, 429, "too_many_attempts")
            retry_after = int(throttled.headers["retry-after"])
            assert 1 <= retry_after <= services.settings.login_window_seconds
            assert str(retry_after) in throttled.json()["error"]["message"]

        # Another account from the same address is still allowed (the address limit is higher).
        assert_unauthorized(
            await anonymous.post(LOGIN, json={"username": "ghost", "password": "wrong-pass-x"})
        )
        # An existing session is not affected by the lockout.
        assert (await admin.get(ME)).status_code == 200

        listed = await admin.get("/api/v1/audit", params={"action": "auth.login", "page_size": 100})
        assert listed.status_code == 200, listed.text
        entries = list(reversed(listed.json()["data"]))
        assert listed.json()["meta"]["total"] == len(entries) == 9
        assert [(e["actorName"], e["outcome"]) for e in entries] == [
            ("admin", "success"),
            ("admin", "failure"),
            ("ADMIN", "failure"),
            (" admin", "failure"),
            ("admin ", "failure"),
            ("Admin", "failure"),
            ("admin", "throttled"),
            ("admin", "throttled"),
            ("ghost", "failure"),
        ]
        assert all(e["ip"] == "127.0.0.9" for e in entries)
        admin_id = entries[0]["actorId"]
        assert admin_id and entries[0]["targetId"] == admin_id
        assert entries[1]["details"] == {"reason": "bad credentials"} and entries[1]["actorId"] is None
        assert entries[-1]["targetId"] is None
        assert "wrong-pass-x" not in listed.text and ADMIN_PASSWORD not in listed.text

        by_actor = await admin.get("/api/v1/audit", params={"action": "auth.login", "actor": "ghost"})
        assert [e["outcome"] for e in by_actor.json()["data"]] == ["failure"]
        for bad in ({"actor": "a\x00b"}, {"action": "a\x00b"}, {"actor": "x" * 65}):
            assert_error(await admin.get("/api/v1/audit", params=bad), 422, "validation_error")


async def test_a_burst_of_concurrent_guesses_gets_only_the_budget(app: FastAPI) -> None:
    async with client_for(app) as anonymous:
        responses = await asyncio.gather(
            *(
                anonymous.post(LOGIN, json={"username": "admin", "password": f"guess-{i:04d}"})
                for i in range(12)
            )
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * 5 + [429] * 7, statuses


async def test_every_change_is_audited_with_its_author(clients: Clients, services: Services) -> None:
    group = await clients.operator.post("/api/v1/cameras/groups", json={"name": "Lobby"})
    assert group.status_code == 201, group.text
    group_id = group.json()["data"]["id"]
    camera = await clients.operator.post(
        "/api/v1/cameras", json={"name": "Door", "rtsp_url": "rtsp://10.0.0.5/s1", "group_id": group_id}
    )
    assert camera.status_code == 201, camera.text
    camera_id = camera.json()["data"]["id"]
    assert (
        await clients.operator.put(f"/api/v1/cameras/{camera_id}", json={"location": "hall"})
    ).status_code == 200
    state = await clients.operator.patch(f"/api/v1/cameras/{camera_id}/state", json={"is_active": False})
    assert state.status_code == 200, state.text
    assert (await clients.admin.delete(f"/api/v1/cameras/{camera_id}")).status_code == 204
    assert (
        await clients.operator.put(f"/api/v1/cameras/groups/{group_id}", json={"name": "Hall"})
    ).status_code == 200
    assert (await clients.operator.delete(f"/api/v1/cameras/groups/{group_id}")).status_code == 204

    user_id = await create_user(clients.admin, "dave", "dave-pass-1")
    assert (await clients.admin.put(f"/api/v1/users/{user_id}", json={"role": "operator"})).status_code == 200
    assert (await clients.admin.delete(f"/api/v1/users/{user_id}")).status_code == 204

    # Refused changes leave no row.
    assert (
        await clients.viewer.post("/api/v1/cameras", json={"name": "X", "rtsp_url": "rtsp://10.0.0.6/"})
    ).status_code == 403
    assert (await clients.operator.delete(f"/api/v1/users/{user_id}")).status_code == 403

    rows = [r for r in await audit_rows(services) if r.action != "auth.login"]
    assert [(r.action, r.actor_name, r.target_id) for r in rows] == [
        ("user.create", "system", rows[0].target_id),  # the first-start admin
        ("user.create", "admin", rows[1].target_id),  # operator (fixture)
        ("user.create", "admin", rows[2].target_id),  # viewer (fixture)
        ("group.create", "operator", group_id),
        ("camera.create", "operator", camera_id),
        ("camera.update", "operator", camera_id),
        ("camera.state", "operator", camera_id),
        ("camera.delete", "admin", camera_id),
        ("group.update", "operator", group_id),
        ("group.delete", "operator", group_id),
        ("user.create", "admin", user_id),
        ("user.update", "admin", user_id),
        ("user.delete", "admin", user_id),
    ]
    assert all(r.outcome == "success" and r.ip for r in rows[1:])
    assert all(r.actor_id for r in rows[1:])
    assert rows[0].actor_id is None and rows[0].details.get("via") == "first start"
    assert rows[4].details == {"name": "Door"} and rows[12].details == {"username": "dave"}
