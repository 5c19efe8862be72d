"""User administration and role permissions, on both databases."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient, Response

from tests.conftest import Clients, client_for, login

USERS = "/api/v1/users"


def error_of(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error


async def admin_id(client: AsyncClient) -> str:
    me = await client.get("/api/v1/auth/me")
    return str(me.json()["data"]["id"])


async def test_admin_crud(clients: Clients, app: FastAPI) -> None:
    admin = clients.admin
    created = await admin.post(
        USERS, json={"username": "Erin", "password": "erin-pass-1", "role": "operator"}
    )
    assert created.status_code == 201, created.text
    erin = created.json()["data"]
    assert erin["username"] == "Erin" and erin["role"] == "operator" and erin["isActive"] is True
    assert "cameras:write" in erin["permissions"] and "users:admin" not in erin["permissions"]
    assert set(erin) == {
        "id",
        "username",
        "role",
        "permissions",
        "isActive",
        "lastLoginAt",
        "createdAt",
        "updatedAt",
    }
    assert "erin-pass-1" not in created.text and "argon2" not in created.text

    # Role defaults to viewer.
    plain = await admin.post(USERS, json={"username": "frank", "password": "frank-pass-1"})
    assert plain.status_code == 201 and plain.json()["data"]["role"] == "viewer"

    for name in ("Erin", "erin", "ERIN"):
        duplicate = error_of(
            await admin.post(USERS, json={"username": name, "password": "other-pass-1"}), 409, "conflict"
        )
        assert duplicate["details"][0]["field"] == "username"

    bad_bodies: list[tuple[dict[str, Any], str]] = [
        ({"username": "gina", "password": "short"}, "password"),
        ({"username": "gina", "password": " padded-password "}, "password"),
        ({"username": "gina", "password": "x" * 129}, "password"),
        ({"username": "gi", "password": "gina-pass-1"}, "username"),
        ({"username": "gina/../x", "password": "gina-pass-1"}, "username"),
        ({"username": "gina", "password": "gina-pass-1", "role": "root"}, "role"),
        ({"username": "gina", "password": "gina-pass-1", "is_admin": True}, "is_admin"),
    ]
    for body, field in bad_bodies:
        error = error_of(await admin.post(USERS, json=body), 422, "validation_error")
        assert [d["field"] for d in error["details"]] == [field], error
        assert field in error["message"]
        assert "short" not in str(error["details"]) or field != "password"

    listed = await admin.get(USERS)
    assert listed.status_code == 200
    names = [u["username"] for u in listed.json()["data"]]
    assert sorted(names, key=str.lower) == ["admin", "Erin", "frank", "operator", "viewer"]
    assert listed.json()["meta"] == {"page": 1, "pageSize": 50, "total": 5, "totalPages": 1}
    pages = [(await admin.get(USERS, params={"page": p, "page_size": 2})).json() for p in (1, 2, 3)]
    assert [u["username"] for page in pages for u in page["data"]] == names
    assert pages[1]["meta"] == {"page": 2, "pageSize": 2, "total": 5, "totalPages": 3}

    one = await admin.get(f"{USERS}/{erin['id']}")
    assert one.status_code == 200 and one.json()["data"] == erin
    error_of(await admin.get(f"{USERS}/no-such-id"), 404, "not_found")
    error_of(await admin.put(f"{USERS}/no-such-id", json={"role": "viewer"}), 404, "not_found")
    error_of(await admin.delete(f"{USERS}/no-such-id"), 404, "not_found")
    # Ids PostgreSQL cannot even compare (NUL) are a 422 on both backends, not a 500.
    for method in ("GET", "PUT", "DELETE"):
        response = await admin.request(method, f"{USERS}/a%00b", json={"role": "viewer"})
        assert "NUL" in error_of(response, 422, "validation_error")["message"]

    updated = await admin.put(f"{USERS}/{erin['id']}", json={"role": "viewer", "is_active": False})
    assert updated.status_code == 200, updated.text
    data = updated.json()["data"]
    assert (data["role"], data["isActive"]) == ("viewer", False)
    assert "cameras:write" not in data["permissions"]
    error_of(await admin.put(f"{USERS}/{erin['id']}", json={"password": "short"}), 422, "validation_error")
    error_of(await admin.put(f"{USERS}/{erin['id']}", json={"username": "renamed"}), 422, "validation_error")
    unchanged = await admin.put(f"{USERS}/{erin['id']}", json={})
    assert unchanged.status_code == 200 and unchanged.json()["data"]["role"] == "viewer"

    assert (await admin.put(f"{USERS}/{erin['id']}", json={"is_active": True})).status_code == 200
    erin_token = await login(app, "erin", "erin-pass-1")  # the lookup ignores case
    deleted = await admin.delete(f"{USERS}/{erin['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    error_of(await admin.get(f"{USERS}/{erin['id']}"), 404, "not_found")
    async with client_for(app, erin_token) as gone:
        error_of(await gone.get("/api/v1/auth/me"), 401, "unauthorized")
    # The name is free again.
    again = await admin.post(USERS, json={"username": "erin", "password": "erin-pass-2"})
    assert again.status_code == 201, again.text


async def test_only_admins_manage_users(clients: Clients) -> None:
    target = await admin_id(clients.admin)
    for client in (clients.operator, clients.viewer):
        for response in (
            await client.get(USERS),
            await client.get(f"{USERS}/{target}"),
            await client.post(USERS, json={"username": "mallory", "password": "mallory-pass"}),
            await client.put(f"{USERS}/{target}", json={"role": "viewer"}),
            await client.delete(f"{USERS}/{target}"),
            await client.get("/api/v1/audit"),
        ):
            error = error_of(response, 403, "forbidden")
            assert "permission" in error["message"]
    for response in (await clients.anonymous.get(USERS), await clients.anonymous.post(USERS, json={})):
        error_of(response, 401, "unauthorized")
    listed = await clients.admin.get(USERS)
    assert "mallory" not in listed.text
    assert [u["role"] for u in listed.json()["data"] if u["username"] == "admin"] == ["admin"]


async def test_the_last_admin_is_kept(clients: Clients) -> None:
    admin = clients.admin
    me = await admin_id(admin)
    assert error_of(await admin.delete(f"{USERS}/{me}"), 409, "conflict")["message"]
    for change in ({"role": "operator"}, {"is_active": False}):
        error = error_of(await admin.put(f"{USERS}/{me}", json=change), 409, "conflict")
        assert "last active admin" in error["message"]
    # Keeping it admin and active, or changing its password, is fine.
    assert (await admin.put(f"{USERS}/{me}", json={"role": "admin", "is_active": True})).status_code == 200

    second = await admin.post(USERS, json={"username": "root2", "password": "root2-pass-1", "role": "admin"})
    second_id = second.json()["data"]["id"]
    # With two admins one may be demoted; then the remaining one is the last again.
    assert (await admin.put(f"{USERS}/{second_id}", json={"role": "operator"})).status_code == 200
    error_of(await admin.put(f"{USERS}/{me}", json={"role": "viewer"}), 409, "conflict")
    # An inactive admin does not count as a spare.
    assert (
        await admin.put(f"{USERS}/{second_id}", json={"role": "admin", "is_active": False})
    ).status_code == 200
    error_of(await admin.put(f"{USERS}/{me}", json={"is_active": False}), 409, "conflict")
    # A second active admin makes the first one removable by it, but nobody deletes themselves.
    assert (await admin.put(f"{USERS}/{second_id}", json={"is_active": True})).status_code == 200
    error_of(await admin.delete(f"{USERS}/{me}"), 409, "conflict")
    assert (await admin.delete(f"{USERS}/{second_id}")).status_code == 204
    error_of(await admin.put(f"{USERS}/{me}", json={"role": "operator"}), 409, "conflict")
    # Other users come and go freely.
    listed = {u["username"]: u["id"] for u in (await admin.get(USERS)).json()["data"]}
    assert (await admin.delete(f"{USERS}/{listed['viewer']}")).status_code == 204


async def test_permissions_per_role(clients: Clients) -> None:
    expected = {
        "admin": {
            "cameras:read",
            "cameras:write",
            "sources:read",
            "sources:write",
            "jobs:read",
            "jobs:write",
            "audit:read",
            "users:admin",
            "analytics:read",
            "analytics:write",
        },
        "operator": {
            "cameras:read",
            "cameras:write",
            "sources:read",
            "sources:write",
            "jobs:read",
            "jobs:write",
            "analytics:read",
            "analytics:write",
        },
        "viewer": {"cameras:read", "sources:read", "jobs:read", "analytics:read"},
    }
    for role, client in (
        ("admin", clients.admin),
        ("operator", clients.operator),
        ("viewer", clients.viewer),
    ):
        me = (await client.get("/api/v1/auth/me")).json()["data"]
        assert me["role"] == role and set(me["permissions"]) == expected[role]
        assert me["permissions"] == sorted(me["permissions"])
    # The permissions are what the API enforces.
    body = {"name": "Gate", "rtsp_url": "rtsp://10.0.0.7/s"}
    error_of(await clients.viewer.post("/api/v1/cameras", json=body), 403, "forbidden")
    assert (await clients.viewer.get("/api/v1/cameras")).status_code == 200
    assert (await clients.operator.post("/api/v1/cameras", json=body)).status_code == 201
