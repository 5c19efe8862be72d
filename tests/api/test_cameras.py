"""Camera CRUD, state, summary, listing and the error contract, end to end on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response

from tests.conftest import Clients

CAMERAS = "/api/v1/cameras"
SECRET = "s3cr3t-P4ss"


def data(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def error(response: Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and set(body) == {"success", "error"}, body
    err: dict[str, Any] = body["error"]
    assert set(err) == {"code", "message", "details"} and err["message"], err
    if code is not None:
        assert err["code"] == code, err
    return err


def fields(err: dict[str, Any]) -> set[str]:
    return {d.get("field") for d in err["details"] or []}


async def make_group(client: AsyncClient, name: str) -> str:
    return str(data(await client.post(f"{CAMERAS}/groups", json={"name": name}), 201)["id"])


async def make_camera(
    client: AsyncClient, name: str, host: str = "192.168.1.10", **extra: Any
) -> dict[str, Any]:
    body = {"name": name, "rtsp_url": f"rtsp://{host}:554/stream", **extra}
    result: dict[str, Any] = data(await client.post(CAMERAS, json=body), 201)
    return result


async def test_camera_crud_round_trip(clients: Clients) -> None:
    seen: list[Response] = []
    group_id = await make_group(clients.operator, "Shop 1")
    created = await clients.operator.post(
        CAMERAS,
        json={
            "name": "  Front Door ",
            "rtsp_url": f"rtsp://admin:{SECRET}@192.168.1.10:554/Streaming/Channels/101?transport=tcp",
            "location": "Entrance",
            "description": "Looks at the street",
            "protocol": "hikvision",
            "onvif_url": "http://192.168.1.10/onvif/device_service",
            "manufacturer": "Hikvision",
            "model": "DS-2CD",
            "resolution": "1920x1080",
            "fps": 25,
            "codec": "H.264",
            "enable_detection": True,
            "detection_sensitivity": 0.5,
        },
    )
    seen.append(created)
    camera = data(created, 201)
    camera_id = camera["id"]
    assert camera["name"] == "Front Door"
    assert camera["rtspUrl"] == "rtsp://192.168.1.10:554/Streaming/Channels/101?transport=tcp"
    assert (camera["username"], camera["hasPassword"]) == ("admin", True)
    assert "password" not in camera and "passwordEncrypted" not in camera
    assert camera["codec"] == "h264" and camera["protocol"] == "hikvision"
    assert (camera["status"], camera["isActive"], camera["groupId"], camera["groupName"]) == (
        "idle",
        True,
        None,
        None,
    )
    assert camera["detectionSensitivity"] == 0.5 and camera["enableDetection"] is True
    assert camera["createdAt"] and camera["updatedAt"] and camera["lastConnectedAt"] is None

    fetched = await clients.viewer.get(f"{CAMERAS}/{camera_id}")
    seen.append(fetched)
    assert data(fetched) == camera

    # PUT is partial: only what is sent changes.
    response = await clients.operator.put(f"{CAMERAS}/{camera_id}", json={"description": "Moved", "fps": 15})
    seen.append(response)
    updated = data(response)
    assert (updated["description"], updated["fps"]) == ("Moved", 15)
    assert {k: v for k, v in updated.items() if k not in {"description", "fps", "updatedAt"}} == {
        k: v for k, v in camera.items() if k not in {"description", "fps", "updatedAt"}
    }

    # A new URL with embedded credentials replaces the URL, username and password; the URL stays clean.
    response = await clients.operator.put(
        f"{CAMERAS}/{camera_id}", json={"rtsp_url": f"rtsp://viewer:{SECRET}x@10.0.0.7:8554/live"}
    )
    seen.append(response)
    updated = data(response)
    assert updated["rtspUrl"] == "rtsp://10.0.0.7:8554/live"
    assert (updated["username"], updated["hasPassword"]) == ("viewer", True)

    # A new URL without credentials leaves the stored ones alone.
    response = await clients.operator.put(f"{CAMERAS}/{camera_id}", json={"rtsp_url": "rtsp://10.0.0.8/live"})
    seen.append(response)
    updated = data(response)
    assert (updated["rtspUrl"], updated["username"], updated["hasPassword"]) == (
        "rtsp://10.0.0.8/live",
        "viewer",
        True,
    )

    # Explicit nulls clear optional fields, the password included.
    response = await clients.operator.put(
        f"{CAMERAS}/{camera_id}", json={"password": None, "username": None, "location": None}
    )
    seen.append(response)
    updated = data(response)
    assert (updated["hasPassword"], updated["username"], updated["location"]) == (False, None, None)

    response = await clients.operator.put(f"{CAMERAS}/{camera_id}", json={"password": SECRET})
    seen.append(response)
    assert data(response)["hasPassword"] is True

    # Moving into a group, renaming in the same call, then out again.
    response = await clients.operator.put(
        f"{CAMERAS}/{camera_id}", json={"group_id": group_id, "name": "Front door"}
    )
    seen.append(response)
    updated = data(response)
    assert (updated["groupId"], updated["groupName"], updated["name"]) == (group_id, "Shop 1", "Front door")
    fetched = await clients.viewer.get(f"{CAMERAS}/{camera_id}")
    seen.append(fetched)
    assert data(fetched)["groupName"] == "Shop 1"
    response = await clients.operator.put(f"{CAMERAS}/{camera_id}", json={"group_id": None})
    seen.append(response)
    assert (data(response)["groupId"], data(response)["groupName"]) == (None, None)

    # State.
    response = await clients.operator.patch(f"{CAMERAS}/{camera_id}/state", json={"is_active": False})
    seen.append(response)
    assert (data(response)["isActive"], data(response)["status"]) == (False, "idle")
    response = await clients.operator.patch(f"{CAMERAS}/{camera_id}/state", json={"status": "online"})
    seen.append(response)
    assert (data(response)["isActive"], data(response)["status"]) == (False, "online")
    response = await clients.operator.patch(
        f"{CAMERAS}/{camera_id}/state", json={"status": "offline", "is_active": True}
    )
    seen.append(response)
    assert (data(response)["isActive"], data(response)["status"]) == (True, "offline")
    error(await clients.operator.patch(f"{CAMERAS}/{camera_id}/state", json={}), 422)
    err = error(await clients.operator.patch(f"{CAMERAS}/{camera_id}/state", json={"status": "melted"}), 422)
    assert "status" in fields(err)

    listed = await clients.admin.get(CAMERAS)
    seen.append(listed)
    export = await clients.admin.get(f"{CAMERAS}/export")
    seen.append(export)
    for response in seen:
        assert SECRET not in response.text
        assert "password" not in response.text.lower().replace("haspassword", "")

    deleted = await clients.operator.delete(f"{CAMERAS}/{camera_id}")
    assert deleted.status_code == 204 and deleted.content == b""
    error(await clients.viewer.get(f"{CAMERAS}/{camera_id}"), 404, "not_found")
    error(await clients.operator.delete(f"{CAMERAS}/{camera_id}"), 404, "not_found")
    assert (await clients.viewer.get(CAMERAS)).json()["meta"]["total"] == 0


async def test_update_conflicts_and_invalid_changes(clients: Clients) -> None:
    shop = await make_group(clients.operator, "Shop")
    first = await make_camera(clients.operator, "Gate")
    second = await make_camera(clients.operator, "Yard")
    in_shop = await make_camera(clients.operator, "Yard", group_id=shop)
    url = f"{CAMERAS}/{first['id']}"

    err = error(await clients.operator.put(url, json={"name": "YARD"}), 409, "conflict")
    assert fields(err) == {"name"}
    # Moving Yard into a group that already has a Yard is a conflict too, and nothing changes.
    err = error(
        await clients.operator.put(f"{CAMERAS}/{second['id']}", json={"group_id": shop}), 409, "conflict"
    )
    assert fields(err) == {"name"}
    assert data(await clients.viewer.get(f"{CAMERAS}/{second['id']}"))["groupId"] is None
    # ...but moving it together with a rename is fine, and so is changing the case of one's own name.
    moved = data(
        await clients.operator.put(f"{CAMERAS}/{second['id']}", json={"group_id": shop, "name": "Yard 2"})
    )
    assert (moved["groupId"], moved["name"]) == (shop, "Yard 2")
    assert data(await clients.operator.put(url, json={"name": "GATE"}))["name"] == "GATE"
    assert data(await clients.operator.put(f"{CAMERAS}/{in_shop['id']}", json={}))["name"] == "Yard"

    for body, field in [
        ({"name": None}, "name"),
        ({"rtsp_url": None}, "rtsp_url"),
        ({"is_active": None}, "is_active"),
        ({"detection_sensitivity": None}, "detection_sensitivity"),
        ({"group_id": "no-such-group"}, "group_id"),
        ({"rtsp_url": "rtsp://169.254.169.254/"}, "rtsp_url"),
        ({"fps": 0}, "fps"),
        ({"status": "online"}, "status"),
    ]:
        err = error(await clients.operator.put(url, json=body), 422, "validation_error")
        assert field in fields(err), (body, err)
    assert data(await clients.viewer.get(url))["name"] == "GATE"
    error(await clients.operator.put(f"{CAMERAS}/nope", json={"name": "x"}), 404, "not_found")
    error(await clients.operator.patch(f"{CAMERAS}/nope/state", json={"is_active": True}), 404, "not_found")


async def test_auth_and_permission_errors(clients: Clients) -> None:
    camera = await make_camera(clients.operator, "Cam")
    url = f"{CAMERAS}/{camera['id']}"
    for method, path, body in [
        ("GET", CAMERAS, None),
        ("GET", url, None),
        ("GET", f"{CAMERAS}/summary", None),
        ("POST", CAMERAS, {"name": "x", "rtsp_url": "rtsp://10.0.0.1/"}),
        ("DELETE", url, None),
    ]:
        err = error(await clients.anonymous.request(method, path, json=body), 401, "unauthorized")
        assert err["details"] is None
        bad = await clients.anonymous.request(
            method, path, json=body, headers={"Authorization": "Bearer nope"}
        )
        error(bad, 401, "unauthorized")
        assert bad.headers["www-authenticate"] == "Bearer"
    error(await clients.anonymous.get(CAMERAS, headers={"Authorization": "Basic YWRtaW46eA=="}), 401)

    writes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", CAMERAS, {"name": "x", "rtsp_url": "rtsp://10.0.0.1/"}),
        ("PUT", url, {"name": "renamed"}),
        ("PATCH", f"{url}/state", {"is_active": False}),
        ("DELETE", url, None),
        ("POST", f"{CAMERAS}/groups", {"name": "g"}),
    ]
    for method, path, body in writes:
        error(await clients.viewer.request(method, path, json=body), 403, "forbidden")
    assert data(await clients.viewer.get(url))["name"] == "Cam"
    assert data(await clients.viewer.get(f"{CAMERAS}/summary"))["total"] == 1
    error(await clients.viewer.get(f"{CAMERAS}/00000000-0000-0000-0000-000000000000"), 404, "not_found")


async def test_duplicate_names(clients: Clients) -> None:
    group = await make_group(clients.operator, "North")
    await make_camera(clients.operator, "Lobby")
    err = error(
        await clients.operator.post(CAMERAS, json={"name": " LOBBY ", "rtsp_url": "rtsp://10.0.0.2/"}),
        409,
        "conflict",
    )
    assert fields(err) == {"name"}
    await make_camera(clients.operator, "lobby", group_id=group)
    error(
        await clients.operator.post(
            CAMERAS, json={"name": "Lobby", "rtsp_url": "rtsp://10.0.0.3/", "group_id": group}
        ),
        409,
    )
    assert (await clients.viewer.get(CAMERAS)).json()["meta"]["total"] == 2


async def test_invalid_inputs_name_the_field(clients: Clients) -> None:
    good = {"name": "Cam", "rtsp_url": "rtsp://192.168.1.10/s"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"rtsp_url": "http://192.168.1.10/s"}, "rtsp_url"),
        ({"rtsp_url": "rtsp:///s"}, "rtsp_url"),
        ({"rtsp_url": "rtsp://192.168.1.10:0/s"}, "rtsp_url"),
        ({"rtsp_url": "rtsp://192.168.1.10:70000/s"}, "rtsp_url"),
        ({"rtsp_url": "rtsp://169.254.169.254/latest/meta-data"}, "rtsp_url"),
        ({"rtsp_url": "rtsp://[fe80::1]/s"}, "rtsp_url"),
        ({"rtsp_url": "rtsp://metadata.google.internal/s"}, "rtsp_url"),
        ({"rtsp_url": "rtsp://0.0.0.0/s"}, "rtsp_url"),
        ({"rtsp_url": "rtsp://2852039166/s"}, "rtsp_url"),
        ({"rtsp_url": ""}, "rtsp_url"),
        ({"onvif_url": "rtsp://192.168.1.10/onvif"}, "onvif_url"),
        ({"onvif_url": "http://169.254.169.254/"}, "onvif_url"),
        ({"name": "x" * 256}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "bad\nname"}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"location": "tab\there"}, "location"),
        ({"description": "d" * 1001}, "description"),
        ({"manufacturer": "m" * 129}, "manufacturer"),
        ({"resolution": "1080p"}, "resolution"),
        ({"resolution": "0x0"}, "resolution"),
        ({"fps": 0}, "fps"),
        ({"fps": 241}, "fps"),
        ({"detection_sensitivity": 1.5}, "detection_sensitivity"),
        ({"detection_sensitivity": -0.1}, "detection_sensitivity"),
        ({"protocol": "telnet"}, "protocol"),
        ({"codec": "divx"}, "codec"),
        ({"password": "p" * 256}, "password"),
        ({"is_secret_admin": True}, "is_secret_admin"),
        ({"status": "online"}, "status"),
    ]
    for change, field in cases:
        response = await clients.operator.post(CAMERAS, json={**good, **change})
        err = error(response, 422, "validation_error")
        assert field in fields(err), (change, err)
        assert all(d["in"] == "body" for d in err["details"]), err
    for missing in ("name", "rtsp_url"):
        body = {k: v for k, v in good.items() if k != missing}
        assert missing in fields(error(await clients.operator.post(CAMERAS, json=body), 422))
    err = error(
        await clients.operator.post(
            CAMERAS, content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        422,
    )
    err = error(
        await clients.operator.post(CAMERAS, json={**good, "group_id": "missing"}), 422, "validation_error"
    )
    assert fields(err) == {"group_id"}
    # Nothing was stored, and no password is echoed back in an error.
    response = await clients.operator.post(CAMERAS, json={**good, "password": "p" * 256, "rtsp_url": "x"})
    assert "ppppp" not in response.text
    assert (await clients.viewer.get(CAMERAS)).json()["meta"]["total"] == 0

    # Private, loopback and shared ranges, and plain hostnames, are where cameras live.
    for index, host in enumerate(
        ["10.1.2.3", "192.168.0.64", "172.16.5.5", "127.0.0.2", "[fd00::5]", "nvr.local"]
    ):
        await make_camera(clients.operator, f"ok {index}", host=host)
    assert (await clients.viewer.get(CAMERAS)).json()["meta"]["total"] == 6


async def test_list_paging_filters_and_sort(clients: Clients) -> None:
    north = await make_group(clients.operator, "North")
    south = await make_group(clients.operator, "South")
    names = ["alpha", "Bravo", "charlie", "delta", "Echo 100%", "fox_trot", "foxXtrot"]
    ids: dict[str, str] = {}
    for index, name in enumerate(names):
        extra: dict[str, Any] = {"group_id": north if index % 2 == 0 else south}
        if name == "charlie":
            extra["location"] = "Back OFFICE"
        if name == "delta":
            extra.update(is_active=False, group_id=None)
        ids[name] = (await make_camera(clients.operator, name, **extra))["id"]
    await clients.operator.patch(f"{CAMERAS}/{ids['Bravo']}/state", json={"status": "online"})
    await clients.operator.patch(f"{CAMERAS}/{ids['alpha']}/state", json={"status": "offline"})

    async def names_of(**params: Any) -> list[str]:
        response = await clients.viewer.get(CAMERAS, params=params)
        return [c["name"] for c in data(response)]

    response = await clients.viewer.get(CAMERAS, params={"page_size": 3})
    assert response.json()["meta"] == {"page": 1, "pageSize": 3, "total": 7, "totalPages": 3}
    assert [c["name"] for c in response.json()["data"]] == ["alpha", "Bravo", "charlie"]
    response = await clients.viewer.get(CAMERAS, params={"page_size": 3, "page": 3})
    assert response.json()["meta"] == {"page": 3, "pageSize": 3, "total": 7, "totalPages": 3}
    assert [c["name"] for c in response.json()["data"]] == ["foxXtrot"]
    response = await clients.viewer.get(CAMERAS, params={"page_size": 3, "page": 4})
    assert response.json()["data"] == [] and response.json()["meta"]["total"] == 7
    response = await clients.viewer.get(CAMERAS, params={"page_size": 7})
    assert response.json()["meta"]["totalPages"] == 1

    assert await names_of(group_id=north) == ["alpha", "charlie", "Echo 100%", "foxXtrot"]
    assert await names_of(group_id=south) == ["Bravo", "fox_trot"]
    assert await names_of(group_id="unknown") == []
    assert await names_of(status="online") == ["Bravo"]
    assert await names_of(status="idle", group_id=north) == ["charlie", "Echo 100%", "foxXtrot"]
    assert "delta" not in await names_of(active_only="true")
    assert len(await names_of(active_only="true")) == 6
    assert await names_of(q="ECHO") == ["Echo 100%"]
    assert await names_of(q="office") == ["charlie"]
    assert await names_of(q="%") == ["Echo 100%"]
    assert await names_of(q="0%") == ["Echo 100%"]
    assert await names_of(q="_") == ["fox_trot"]
    assert await names_of(q="x_t") == ["fox_trot"]
    assert await names_of(q="\\") == []
    assert await names_of(q="zzz") == []

    assert await names_of(sort="-name") == [
        "foxXtrot",
        "fox_trot",
        "Echo 100%",
        "delta",
        "charlie",
        "Bravo",
        "alpha",
    ]
    assert await names_of(sort="created_at") == names
    assert await names_of(sort="-created_at") == list(reversed(names))
    by_status = await names_of(sort="status")  # idle < offline < online
    assert by_status[5:] == ["alpha", "Bravo"] and len(by_status) == 7
    assert (await names_of(sort="-status"))[:2] == ["Bravo", "alpha"]
    for params in (
        {"page": 0},
        {"page_size": 0},
        {"page_size": 501},
        {"sort": "password"},
        {"status": "melted"},
    ):
        err = error(await clients.viewer.get(CAMERAS, params=params), 422, "validation_error")
        assert all(d["in"] == "query" for d in err["details"]), err
        assert fields(err) == set(params), err


async def test_summary(clients: Clients) -> None:
    empty = data(await clients.viewer.get(f"{CAMERAS}/summary"))
    assert empty == {
        "total": 0,
        "active": 0,
        "inactive": 0,
        "detectionEnabled": 0,
        "byStatus": {},
        "byGroup": [],
    }
    group = await make_group(clients.operator, "G")
    a = await make_camera(clients.operator, "a", group_id=group, enable_detection=True)
    await make_camera(clients.operator, "b", group_id=group)
    await make_camera(clients.operator, "c", is_active=False)
    await clients.operator.patch(f"{CAMERAS}/{a['id']}/state", json={"status": "online"})
    summary = data(await clients.viewer.get(f"{CAMERAS}/summary"))
    assert (summary["total"], summary["active"], summary["inactive"], summary["detectionEnabled"]) == (
        3,
        2,
        1,
        1,
    )
    assert summary["byStatus"] == {"online": 1, "idle": 2}
    assert sorted(summary["byGroup"], key=lambda g: g["count"]) == [
        {"groupId": None, "name": None, "count": 1},
        {"groupId": group, "name": "G", "count": 2},
    ]
