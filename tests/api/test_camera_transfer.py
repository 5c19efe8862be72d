"""Bulk import (CSV, JSON, seed-002 channel lists) and export (CSV, JSON, credentials for admins only)."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

from httpx import AsyncClient

from tests.api.test_cameras import CAMERAS, data, error, fields, make_camera, make_group
from tests.conftest import Clients, b64
from tests.registry.samples import SITE

IMPORT = f"{CAMERAS}/import"
EXPORT = f"{CAMERAS}/export"


async def total(client: AsyncClient) -> int:
    return int((await client.get(CAMERAS)).json()["meta"]["total"])


async def all_cameras(client: AsyncClient) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = data(await client.get(CAMERAS, params={"page_size": 500}))
    return result


async def import_text(client: AsyncClient, fmt: str, text: str, **extra: Any) -> Any:
    return await client.post(IMPORT, json={"format": fmt, "data": b64(text), **extra})


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_csv_import_and_row_errors(clients: Clients) -> None:
    good = (
        "name,rtsp_url,group,location,fps,is_active,enable_detection,detection_sensitivity,codec\n"
        "Cam 1,rtsp://admin:pw1@192.168.1.11/s,Shop A,Door,25,true,false,0.4,H.265\n"
        "Cam 2,rtsp://192.168.1.12/s,shop a,,,false,true,,\n"
        "Cam 3,rtsp://192.168.1.13/s,,,,,,,\n"
    )
    # A bad row anywhere: 422 naming row and field, nothing imported (not even the good rows).
    bad = good + "Cam 4,rtsp://169.254.169.254/s,,,,,,,\nCam 5,rtsp://10.0.0.5/s,,,999,,,,\n"
    err = error(await import_text(clients.operator, "csv", bad), 422, "validation_error")
    assert [(d["row"], d["field"]) for d in err["details"]] == [(4, "rtsp_url"), (5, "fps")]
    assert [d["line"] for d in err["details"]] == [5, 6]
    assert "row 4" in err["message"] and "rtsp_url" in err["message"]
    assert await total(clients.viewer) == 0
    assert data(await clients.viewer.get(f"{CAMERAS}/groups")) == []

    for text, row, field in [
        ("name,rtsp_url\n,rtsp://10.0.0.1/\n", 1, "name"),
        ("name,rtsp_url\nA,rtsp://10.0.0.1/\nB,\n", 2, "rtsp_url"),
        ("name,rtsp_url,resolution\nA,rtsp://10.0.0.1/,big\n", 1, "resolution"),
        ("name,rtsp_url,is_active\nA,rtsp://10.0.0.1/,maybe\n", 1, "is_active"),
        ("name,rtsp_url\nA,rtsp://10.0.0.1/,extra\n", 1, None),
        ("name,rtsp_url,group_id\nA,rtsp://10.0.0.1/,no-such-group\n", 1, "group_id"),
        ("name,rtsp_url,group\nA,rtsp://10.0.0.1/," + "g" * 256 + "\n", 1, "group"),
    ]:
        err = error(await import_text(clients.operator, "csv", text), 422, "validation_error")
        assert (err["details"][0]["row"], err["details"][0]["field"]) == (row, field), (text, err)
    err = error(
        await import_text(clients.operator, "csv", "name,rtsp_url,secret\nA,rtsp://10.0.0.1/,x\n"), 422
    )
    assert fields(err) == {"data"} and "secret" in err["message"]
    error(await import_text(clients.operator, "csv", "name,rtsp_url\n"), 422, "validation_error")
    assert await total(clients.viewer) == 0

    result = data(await import_text(clients.operator, "csv", good))
    assert (result["created"], result["skipped"], result["groupsCreated"]) == (3, [], ["Shop A"])
    assert len(result["cameraIds"]) == 3
    cameras = {c["name"]: c for c in await all_cameras(clients.viewer)}
    assert cameras["Cam 1"]["rtspUrl"] == "rtsp://192.168.1.11/s"
    assert (cameras["Cam 1"]["username"], cameras["Cam 1"]["hasPassword"]) == ("admin", True)
    assert (cameras["Cam 1"]["fps"], cameras["Cam 1"]["codec"], cameras["Cam 1"]["location"]) == (
        25,
        "h265",
        "Door",
    )
    assert cameras["Cam 1"]["detectionSensitivity"] == 0.4 and cameras["Cam 1"]["status"] == "idle"
    assert (cameras["Cam 2"]["isActive"], cameras["Cam 2"]["enableDetection"]) == (False, True)
    assert cameras["Cam 1"]["groupId"] == cameras["Cam 2"]["groupId"] is not None
    assert cameras["Cam 2"]["groupName"] == "Shop A"
    assert cameras["Cam 3"]["groupId"] is None and cameras["Cam 3"]["detectionSensitivity"] == 0.7
    assert set(result["cameraIds"]) == {c["id"] for c in cameras.values()}
    assert "pw1" not in json.dumps(cameras)
    # An existing group is found by name, case-insensitively, not created again.
    result = data(
        await import_text(clients.operator, "csv", "name,rtsp_url,group\nCam 9,rtsp://10.0.0.9/,SHOP A\n")
    )
    assert result["groupsCreated"] == []
    assert len(data(await clients.viewer.get(f"{CAMERAS}/groups"))) == 1
    error(await import_text(clients.viewer, "csv", good), 403, "forbidden")
    error(await import_text(clients.anonymous, "csv", good), 401, "unauthorized")


async def test_json_imports_and_channel_list(clients: Clients) -> None:
    items: list[dict[str, Any]] = [
        {"name": "J1", "rtsp_url": "rtsp://10.0.0.1/a", "fps": 10, "group": "From JSON"},
        {"name": "J2", "rtsp_url": "rtsp://10.0.0.2/a", "username": "u", "password": "jsonpw"},
    ]
    result = data(await import_text(clients.operator, "json", json.dumps(items)))
    assert (result["created"], result["groupsCreated"]) == (2, ["From JSON"])
    result = data(
        await import_text(clients.operator, "json", json.dumps({"cameras": [{**items[1], "name": "J3"}]}))
    )
    assert result["created"] == 1

    result = data(await import_text(clients.operator, "json", json.dumps(SITE)))
    assert (result["created"], result["groupsCreated"]) == (4, ["kidsplaza_thanhxuan"])
    site = data(await clients.viewer.get(f"{CAMERAS}/groups", params={"q": "kidsplaza"}))[0]
    cameras = data(await clients.viewer.get(CAMERAS, params={"group_id": site["id"], "sort": "created_at"}))
    assert [c["name"] for c in cameras] == [ch["name"] for ch in SITE["channels"]]
    for number, camera in enumerate(cameras, start=1):
        assert camera["rtspUrl"] == f"rtsp://127.0.0.2:554/cam/realmonitor?channel={number}&subtype=0"
        assert (camera["username"], camera["hasPassword"], camera["groupName"]) == (
            "user1",
            True,
            "kidsplaza_thanhxuan",
        )
    exported = (
        await clients.admin.get(EXPORT, params={"include_credentials": "true", "group_id": site["id"]})
    ).text
    assert {r["password"] for r in csv_rows(exported)} == {"cam12345"}
    # The same site again: all duplicates.
    err = error(await import_text(clients.operator, "json", json.dumps(SITE)), 409, "conflict")
    assert [d["row"] for d in err["details"]] == [1, 2, 3, 4]

    for text, row, field in [
        (json.dumps([{"name": "X", "rtsp_url": "rtsp://10.0.0.1/", "secret": 1}]), 1, "secret"),
        (json.dumps([{"name": "X", "rtsp_url": "rtsp://10.0.0.1/"}, {"name": "Y"}]), 2, "rtsp_url"),
        (json.dumps([{"name": "X", "rtsp_url": "rtsp://10.0.0.1/", "group": 5}]), 1, "group"),
        (json.dumps([{"name": "X", "rtsp_url": "rtsp://10.0.0.1/", "group": ["a"]}]), 1, "group"),
        (
            json.dumps({"name": "s", "server": {"host": "169.254.169.254"}, "channels": [{"id": "c1"}]}),
            1,
            "rtsp_url",
        ),
        (
            json.dumps({"name": "s", "server": {"host": "10.0.0.1", "port": "x"}, "channels": [{"id": "c"}]}),
            1,
            "rtsp_url",
        ),
    ]:
        err = error(await import_text(clients.operator, "json", text), 422, "validation_error")
        assert (err["details"][0]["row"], err["details"][0]["field"]) == (row, field), (text, err)
    for text in ("{", "[]", '{"cameras": 3}', "[1]", '"x"'):
        error(await import_text(clients.operator, "json", text), 422, "validation_error")
    assert await total(clients.viewer) == 7


async def test_duplicates_group_param_and_bad_payloads(clients: Clients) -> None:
    group = await make_group(clients.operator, "Target")
    await make_camera(clients.operator, "Existing")
    await make_camera(clients.operator, "InGroup", group_id=group)
    text = "name,rtsp_url\nNew 1,rtsp://10.0.0.1/\nexisting,rtsp://10.0.0.2/\nNew 2,rtsp://10.0.0.3/\nnew 1,rtsp://10.0.0.4/\n"

    err = error(await import_text(clients.operator, "csv", text), 409, "conflict")
    assert [(d["row"], d["field"], d["name"]) for d in err["details"]] == [
        (2, "name", "existing"),
        (4, "name", "new 1"),
    ]
    assert "row 1" in err["details"][1]["message"]
    assert await total(clients.viewer) == 2

    result = data(await import_text(clients.operator, "csv", text, skip_duplicates=True))
    assert result["created"] == 2 and [s["row"] for s in result["skipped"]] == [2, 4]
    assert await total(clients.viewer) == 4

    # group_id applies to rows without a group of their own; names are unique per group.
    text = "name,rtsp_url,group\nExisting,rtsp://10.0.0.5/,\ningroup,rtsp://10.0.0.6/,\nOther,rtsp://10.0.0.7/,Elsewhere\n"
    err = error(await import_text(clients.operator, "csv", text, group_id=group), 409)
    assert [d["row"] for d in err["details"]] == [2]
    result = data(await import_text(clients.operator, "csv", text, group_id=group, skip_duplicates=True))
    assert (result["created"], result["groupsCreated"]) == (2, ["Elsewhere"])
    in_group = data(await clients.viewer.get(CAMERAS, params={"group_id": group}))
    assert sorted(c["name"] for c in in_group) == ["Existing", "InGroup"]

    err = error(
        await import_text(clients.operator, "csv", text, group_id="no-such-group"), 422, "validation_error"
    )
    assert fields(err) == {"group_id"}
    # Everything skipped is still a success with nothing created.
    result = data(
        await import_text(
            clients.operator, "csv", "name,rtsp_url\nexisting,rtsp://10.0.0.2/\n", skip_duplicates=True
        )
    )
    assert (result["created"], len(result["skipped"])) == (0, 1)

    bodies: list[dict[str, Any]] = [
        {"format": "csv", "data": "not base64!!"},
        {"format": "csv", "data": "bmFtZQ"},  # missing padding
        {"format": "csv", "data": base64.b64encode(b"name,rtsp_url\n\xff\xfe,x\n").decode()},
    ]
    for body in bodies:
        err = error(await clients.operator.post(IMPORT, json=body), 422, "validation_error")
        assert fields(err) == {"data"}, err
    for body in (
        {"format": "xml", "data": b64("x")},
        {"format": "csv", "data": ""},
        {"format": "csv"},
        {"format": "csv", "data": b64("x"), "overwrite": "yes"},
    ):
        error(await clients.operator.post(IMPORT, json=body), 422, "validation_error")
    assert await total(clients.viewer) == 6


async def test_export_and_round_trip(clients: Clients) -> None:
    group = await make_group(clients.operator, 'Shop, "main"')
    await make_camera(
        clients.operator,
        "=cmd|' /C calc'!A0",
        group_id=group,
        password="=SUM(1)",
        username="+admin",
        location="-1",
        description='says "hi", then; leaves',
        fps=12,
        resolution="1280x720",
        codec="h264",
        onvif_url="http://192.168.1.10/onvif",
        enable_detection=True,
        detection_sensitivity=0.25,
        protocol="onvif",
    )
    await make_camera(
        clients.operator, "Plain, with comma", host="10.0.0.2", password="plainpw", username="root"
    )
    await make_camera(clients.operator, "Vườn sau", host="[fd00::2]", is_active=False)
    await make_camera(
        clients.operator, "'=already quoted", host="10.0.0.4", username="u", password=" spaced pw "
    )

    plain = await clients.viewer.get(EXPORT)
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("text/csv")
    assert (
        "attachment" in plain.headers["content-disposition"] and plain.headers["cache-control"] == "no-store"
    )
    rows = csv_rows(plain.text)
    assert "password" not in rows[0] and "plainpw" not in plain.text and "SUM" not in plain.text
    by_name = {r["name"]: r for r in rows}
    formula = by_name["'=cmd|' /C calc'!A0"]
    assert (formula["username"], formula["location"], formula["group"]) == ("'+admin", "'-1", 'Shop, "main"')
    assert by_name["''=already quoted"]["rtsp_url"] == "rtsp://10.0.0.4:554/stream"
    for cell in (v for r in rows for v in r.values()):
        assert not cell.startswith(("=", "+", "-", "@")), cell

    as_json = await clients.viewer.get(EXPORT, params={"format": "json"})
    assert as_json.headers["content-type"].startswith("application/json")
    assert "password" not in as_json.text and "plainpw" not in as_json.text
    json_cameras = {c["name"]: c for c in as_json.json()["cameras"]}
    assert json_cameras["=cmd|' /C calc'!A0"]["username"] == "+admin"
    assert json_cameras["Vườn sau"]["is_active"] is False

    assert len(csv_rows((await clients.viewer.get(EXPORT, params={"group_id": group})).text)) == 1
    error(await clients.operator.get(EXPORT, params={"include_credentials": "true"}), 403, "forbidden")
    error(await clients.viewer.get(EXPORT, params={"include_credentials": "true", "format": "json"}), 403)
    error(await clients.anonymous.get(EXPORT), 401, "unauthorized")
    error(await clients.viewer.get(EXPORT, params={"format": "xml"}), 422, "validation_error")

    with_secrets = await clients.admin.get(EXPORT, params={"include_credentials": "true"})
    secret_rows = {r["name"]: r for r in csv_rows(with_secrets.text)}
    assert secret_rows["'=cmd|' /C calc'!A0"]["password"] == "'=SUM(1)"
    assert secret_rows["Plain, with comma"]["password"] == "plainpw"
    assert secret_rows["Vườn sau"]["password"] == ""
    assert secret_rows["''=already quoted"]["password"] == " spaced pw "
    json_secrets = (
        await clients.admin.get(EXPORT, params={"include_credentials": "true", "format": "json"})
    ).json()
    assert {c["name"]: c.get("password") for c in json_secrets["cameras"]}["Plain, with comma"] == "plainpw"

    before = {c["name"]: c for c in await all_cameras(clients.viewer)}
    ignored = {"id", "createdAt", "updatedAt", "groupId"}

    def comparable(camera: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in camera.items() if k not in ignored}

    for fmt, payload in (("csv", with_secrets.text), ("json", json.dumps(json_secrets))):
        for camera in before.values():
            assert (await clients.admin.delete(f"{CAMERAS}/{camera['id']}")).status_code == 204
        assert await total(clients.viewer) == 0
        result = data(await import_text(clients.admin, fmt, payload))
        assert result["created"] == 4 and result["groupsCreated"] == []
        after = {c["name"]: c for c in await all_cameras(clients.viewer)}
        assert {k: comparable(v) for k, v in after.items()} == {
            k: comparable(v) for k, v in before.items()
        }, fmt
        again = await clients.admin.get(EXPORT, params={"include_credentials": "true"})
        assert csv_rows(again.text) == csv_rows(with_secrets.text), fmt
        before = after


async def test_line_wrapped_base64_is_accepted(clients: Clients) -> None:
    csv_text = "name,rtsp_url\n" + "".join(f"Wrapped {i},rtsp://10.1.0.{i + 1}/s\n" for i in range(20))
    encoded = b64(csv_text)
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + "\n"
    response = await clients.operator.post("/api/v1/cameras/import", json={"format": "csv", "data": wrapped})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["created"] == 20
