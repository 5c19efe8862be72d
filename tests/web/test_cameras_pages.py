"""Camera pages: the list and its htmx table, the create/edit form, import and export, per role."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

from tests.api.test_cameras import data, error, make_camera, make_group
from tests.conftest import b64
from tests.web.conftest import WebClients
from tests.web.test_dashboard_page import by_testid, one, page, set_checked, text
from vtrack.services import Services


def names(html: str) -> list[str]:
    return [row.get("data-camera-name") for row in by_testid(html, "camera-row")]


def field_names(html: str) -> set[str]:
    """The named fields of the camera form (the top bar's sign-out form has its own)."""
    form = html.split('data-testid="camera-form"', 1)[1].split("</form>", 1)[0]
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', form))


async def seed(web: WebClients, services: Services) -> dict[str, Any]:
    operator = web.api.operator
    shop = await make_group(operator, "Shop A")
    ids = {}
    for n in range(1, 8):
        extra: dict[str, Any] = {"location": "Warehouse" if n % 2 else "Front", "resolution": "1920x1080"}
        if n <= 3:
            extra["group_id"] = shop
        ids[f"Cam {n}"] = (await make_camera(operator, f"Cam {n}", host=f"192.168.1.{n}", **extra))["id"]
    for name, body in (
        ("Cam 1", {"status": "online"}),
        ("Cam 2", {"status": "online"}),
        ("Cam 3", {"status": "offline", "is_active": False}),
    ):
        data(await operator.patch(f"/api/v1/cameras/{ids[name]}/state", json=body))
    # 17:05 UTC is five past midnight the next day in Ho Chi Minh City (UTC+7).
    await set_checked(services, ids["Cam 1"], datetime(2026, 3, 1, 17, 5, tzinfo=UTC))
    return {"shop": shop, "ids": ids}


async def test_list_search_filters_and_pages(web: WebClients, services: Services) -> None:
    for path in ("/cameras", "/cameras/table?q=x", "/cameras/new", "/cameras/import"):
        response = await web.api.anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/?next=/cameras")
    empty = page(await web.admin.get("/cameras"))
    assert one(empty, "cameras-empty") and 'href="/cameras/new"' in empty

    seeded = await seed(web, services)
    ids, shop = seeded["ids"], seeded["shop"]
    html = page(await web.admin.get("/cameras"))
    assert names(html) == [f"Cam {n}" for n in range(1, 8)]
    row = by_testid(html, "camera-row")[0]
    assert row.get("data-camera-id") == ids["Cam 1"]
    cells = text(row)
    for shown in ("Cam 1", "Warehouse", "Shop A", "RTSP", "1920x1080", "online", "2026-03-02 00:05"):
        assert shown in cells, shown
    for testid in ("camera-new", "export-csv", "export-json", "camera-search", "camera-import"):
        assert one(html, testid)
    assert len(by_testid(html, "camera-delete")) == 7
    delete = by_testid(html, "camera-delete")[0]
    assert delete.get("data-api-action") == f"/api/v1/cameras/{ids['Cam 1']}"
    assert delete.get("data-method") == "DELETE" and delete.get("data-confirm") == "Delete Cam 1?"
    test = by_testid(html, "camera-test")[0]
    assert test.get("data-test-connection") == f"/api/v1/cameras/{ids['Cam 1']}/test-connection"
    search = one(html, "camera-search")
    assert search.get("hx-trigger") == "input changed delay:300ms, search"
    assert search.get("hx-get") == "/cameras/table" and search.get("hx-target") == "#camera-table"

    async def table(**params: str) -> tuple[str, dict[str, str]]:
        response = await web.viewer.get("/cameras/table", params=params, headers={"HX-Request": "true"})
        fragment = page(response)
        assert "<html" not in fragment and 'id="camera-table"' in fragment
        return fragment, dict(response.headers)

    fragment, headers = await table(q="cam 5")
    assert names(fragment) == ["Cam 5"] and headers["hx-push-url"] == "/cameras?q=cam+5"
    assert names((await table(q="front"))[0]) == ["Cam 2", "Cam 4", "Cam 6"]
    assert names((await table(status="online"))[0]) == ["Cam 1", "Cam 2"]
    assert names((await table(group=shop))[0]) == ["Cam 1", "Cam 2", "Cam 3"]
    assert names((await table(active="1", group=shop))[0]) == ["Cam 1", "Cam 2"]
    assert names((await table(sort="-name", page_size="2"))[0]) == ["Cam 7", "Cam 6"]
    assert "cameras-no-match" in (await table(q="nothing like this"))[0]
    # The API's listing gives the same rows for the same filters.
    api = data(await web.api.viewer.get("/api/v1/cameras", params={"q": "front", "sort": "-name"}))
    assert names((await table(q="front", sort="-name"))[0]) == [c["name"] for c in api]

    assert names((await table(page="2", page_size="3", status="idle"))[0]) == ["Cam 7"]
    pages, headers = await table(page="2", page_size="3")
    assert names(pages) == ["Cam 4", "Cam 5", "Cam 6"]
    assert text(one(pages, "page-label")) == "Page 2 of 3" and "7 in all" in pages
    assert one(pages, "page-next").get("hx-get") == "/cameras/table?page=3&page_size=3"
    assert one(pages, "page-previous").get("href") == "/cameras?page_size=3"
    assert headers["hx-push-url"] == "/cameras?page=2&page_size=3"
    past_the_end, _ = await table(page="99", page_size="3")
    assert names(past_the_end) == ["Cam 7"]
    # The table refreshes itself with the same query on live camera events, leaving the address alone.
    refresh = 'hx-trigger="vt-camera from:body throttle:2s, refresh"'
    assert f'hx-get="/cameras/table?page=2&amp;page_size=3" {refresh}' in pages
    live = await web.viewer.get(
        "/cameras/table", params={"page": "2"}, headers={"HX-Request": "true", "HX-Trigger": "camera-table"}
    )
    assert "hx-push-url" not in live.headers
    # Nonsense in the address bar falls back to defaults rather than an error page.
    odd, _ = await table(status="melted", sort="nope", page="x", page_size="-4")
    assert names(odd) == ["Cam 1"]

    full = page(await web.admin.get("/cameras", params={"q": "cam 2", "status": "online"}))
    assert names(full) == ["Cam 2"] and 'value="cam 2"' in full

    viewer = page(await web.viewer.get("/cameras"))
    assert len(names(viewer)) == 7
    for testid in ("camera-new", "camera-delete", "camera-edit", "camera-import", "camera-edit-link"):
        assert by_testid(viewer, testid) == [], testid
    assert by_testid(viewer, "export-csv") and len(by_testid(viewer, "camera-test")) == 7

    web.viewer.cookies.set("vtrack_lang", "vi")
    vi = page(await web.viewer.get("/cameras"))
    for label in ("Tìm kiếm", "Vị trí", "Nhóm", "Giao thức", "Độ phân giải", "Kiểm tra lần cuối", "Xuất CSV"):
        assert label in vi, label
    assert "trực tuyến" in text(by_testid(vi, "camera-status")[0])


async def test_new_and_edit_forms(web: WebClients) -> None:
    shop = await make_group(web.api.operator, "Shop A")
    body: dict[str, Any] = {
        "username": "admin",
        "password": "s3cr3t-P4ss",
        "group_id": shop,
        "fps": 25,
        "location": "Door",
    }
    camera = await make_camera(web.api.operator, "Door cam", **body)

    new = page(await web.operator.get("/cameras/new"))
    form = one(new, "camera-form")
    assert (form.get("data-api"), form.get("data-method")) == ("/api/v1/cameras", "POST")
    expected = {
        "name",
        "rtsp_url",
        "username",
        "password",
        "description",
        "location",
        "group_id",
        "protocol",
        "onvif_url",
        "manufacturer",
        "model",
        "resolution",
        "fps",
        "codec",
        "is_active",
        "enable_detection",
        "detection_sensitivity",
        "retention_max_age_days",
        "retention_max_gb",
    }
    assert field_names(new) == expected
    assert f'<option value="{shop}"' in new and one(new, "camera-save")

    edit = page(await web.operator.get(f"/cameras/{camera['id']}/edit"))
    form = one(edit, "camera-form")
    assert (form.get("data-api"), form.get("data-method")) == (f"/api/v1/cameras/{camera['id']}", "PUT")
    assert field_names(edit) == expected
    assert 'value="Door cam"' in edit and 'value="Door"' in edit and 'value="25"' in edit
    assert f'<option value="{shop}" selected>' in edit
    password = re.search(r'<input name="password"[^>]*>', edit)
    assert password and "value=" not in password.group(0)
    assert "s3cr3t-P4ss" not in edit and "A password is stored" in edit

    # What the form posts (as app.js sends it): the API's field errors name inputs the form has.
    err = error(await web.operator.post("/api/v1/cameras", json={"name": "", "rtsp_url": "ftp://x"}), 422)
    assert {d["field"] for d in err["details"]} <= expected
    saved = data(
        await web.operator.put(f"/api/v1/cameras/{camera['id']}", json={"location": None, "fps": 10})
    )
    assert (saved["location"], saved["fps"], saved["hasPassword"]) == (None, 10, True)

    forbidden = await web.viewer.get("/cameras/new")
    assert forbidden.status_code == 403 and "cameras:write" in forbidden.text
    assert (await web.viewer.get(f"/cameras/{camera['id']}/edit")).status_code == 403
    assert (await web.operator.get("/cameras/nope/edit")).status_code == 404


async def test_import_page_errors_and_export(web: WebClients) -> None:
    html = page(await web.operator.get("/cameras/import"))
    for testid in ("import-file", "import-submit", "import-errors", "export-csv", "export-json"):
        assert one(html, testid), testid
    assert one(html, "import-file").get("type") == "file"
    assert 'src="/static/js/cameras.js' in html
    assert one(html, "import-form").get("data-import-url") == "/api/v1/cameras/import"
    assert (await web.operator.get("/static/js/cameras.js")).status_code == 200
    assert (await web.viewer.get("/cameras/import")).status_code == 403

    # The page's script posts the file base64-encoded; a bad row comes back as row errors, nothing imported.
    bad = "name,rtsp_url,fps\nCam 1,rtsp://192.168.1.11/s,25\nCam 2,rtsp://192.168.1.12/s,999\n"
    body = {"format": "csv", "data": b64(bad), "skip_duplicates": False}
    err = error(await web.operator.post("/api/v1/cameras/import", json=body), 422)
    assert [(d["row"], d["field"]) for d in err["details"]] == [(2, "fps")] and err["details"][0]["message"]
    assert data(await web.api.viewer.get("/api/v1/cameras")) == []
    good = bad.replace(",999", ",30")
    result = data(await web.operator.post("/api/v1/cameras/import", json={**body, "data": b64(good)}))
    assert (result["created"], result["skipped"]) == (2, [])

    exported = await web.viewer.get(one(html, "export-csv").get("href"))
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert [r["name"] for r in csv.DictReader(io.StringIO(exported.text))] == ["Cam 1", "Cam 2"]
    as_json = await web.viewer.get(one(html, "export-json").get("href"))
    assert as_json.status_code == 200 and [c["name"] for c in as_json.json()["cameras"]] == ["Cam 1", "Cam 2"]
