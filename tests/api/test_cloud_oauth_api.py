"""A cloud drive end to end through the API: OAuth code + PKCE sign-in, a source, sync, refresh, audit.

Dropbox's loopback fake (tests/fakes/dropbox.py) checks what Dropbox checks: PKCE, single-use codes,
bearer tokens and their expiry, the change cursor, Range downloads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.api.test_cloud_sources_api import sync
from tests.conftest import Clients, archive_settings, client_for, login
from tests.fakes.dropbox import FakeDropbox
from vtrack.services import Services
from vtrack.settings import Settings

CLIPS = {
    "/Cameras/gate/0800.mp4": b"\x00\x00\x00\x18ftypmp42" + b"d" * 4000,
    "/Cameras/yard/a.mov": b"m" * 900,
}


@pytest.fixture
async def dropbox() -> AsyncIterator[FakeDropbox]:
    async with FakeDropbox() as fake:
        for path, data in CLIPS.items():
            fake.add_file(path, data)
        fake.add_file("/Cameras/notes.txt", b"not a video")
        fake.add_file("/Personal/holiday.mp4", b"outside the synced folder")
        yield fake


@pytest.fixture
def settings(tmp_path: Path, database_url: str, dropbox: FakeDropbox) -> Settings:
    return archive_settings(
        tmp_path,
        database_url,
        cloud_clients={"dropbox": {"client_id": dropbox.auth.client_id}},
        cloud_urls={"dropbox": dropbox.urls},
        public_url="http://127.0.0.1:8000",
    )


async def connect(client: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    """What the browser does: open the authorization URL, follow the redirect back to the callback."""
    response = await client.post("/api/v1/cloud/dropbox/auth", json={"flow": "code"})
    assert response.status_code == 200, response.text
    started = response.json()["data"]
    query = parse_qs(urlsplit(started["authorizationUrl"]).query)
    assert query["code_challenge_method"] == ["S256"] and "code_verifier" not in query
    async with httpx.AsyncClient() as browser:  # the provider's consent page, which "clicks Allow"
        consent = await browser.get(started["authorizationUrl"])
    assert consent.status_code == 302
    callback = urlsplit(consent.headers["location"])
    assert callback.path == "/api/v1/cloud/dropbox/oauth/callback"
    async with client_for(app) as anonymous:  # the browser carries no API token
        done = await anonymous.get(
            f"{callback.path}?{callback.query}", headers={"Accept": "application/json"}
        )
    assert done.status_code == 200, done.text
    account: dict[str, Any] = done.json()["data"]
    return account


async def test_sign_in_add_a_folder_and_sync_it(
    app: FastAPI, clients: Clients, services: Services, dropbox: FakeDropbox
) -> None:
    account = await connect(clients.operator, app)
    assert account["provider"] == "dropbox" and account["label"] == dropbox.email
    assert dropbox.auth.token_requests == ["authorization_code"]

    folders = await clients.operator.get(
        "/api/v1/cloud/dropbox/list_folders", params={"account_id": account["id"]}
    )
    assert folders.status_code == 200, folders.text
    assert sorted(f["name"] for f in folders.json()["data"]) == ["Cameras", "Personal"]

    body = {"name": "Shop Dropbox", "type": "dropbox", "account_id": account["id"], "root": "/Cameras"}
    response = await clients.operator.post("/api/v1/sources", json=body)
    assert response.status_code == 201, response.text
    source = response.json()["data"]
    result = await sync(clients.operator, source["id"])
    assert result["chunks_failed"] == 0, result
    root = services.archive_layout.source_dir("Shop Dropbox")
    archived = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert archived == {
        "gate/0800.mp4": CLIPS["/Cameras/gate/0800.mp4"],
        "yard/a.mov": CLIPS["/Cameras/yard/a.mov"],
    }

    # The access token expires: the next sync refreshes it once and goes on; the new clip arrives.
    dropbox.auth.expire_all()
    dropbox.add_file("/Cameras/gate/0900.mp4", b"n" * 700)
    result = await sync(clients.operator, source["id"])
    assert result["chunks_done"] == 1, result
    assert dropbox.auth.token_requests == ["authorization_code", "refresh_token"]
    assert (root / "gate/0900.mp4").read_bytes() == b"n" * 700

    audit = (await clients.admin.get("/api/v1/audit", params={"page_size": 100})).json()["data"]
    actions = [entry["action"] for entry in audit]
    assert "cloud.auth.start" in actions and "cloud.connect" in actions


async def test_a_state_is_single_use_and_bound_to_its_verifier(
    app: FastAPI, clients: Clients, dropbox: FakeDropbox
) -> None:
    response = await clients.operator.post("/api/v1/cloud/dropbox/auth", json={})
    url = response.json()["data"]["authorizationUrl"]
    async with httpx.AsyncClient() as browser:
        callback = urlsplit((await browser.get(url)).headers["location"])
    async with client_for(app) as anonymous:
        first = await anonymous.get(
            f"{callback.path}?{callback.query}", headers={"Accept": "application/json"}
        )
        replay = await anonymous.get(
            f"{callback.path}?{callback.query}", headers={"Accept": "application/json"}
        )
        forged = await anonymous.get(f"{callback.path}?code=x&state=made-up")
        denied = await anonymous.get(f"{callback.path}?error=access_denied&state=whatever")
    assert first.status_code == 200
    assert replay.status_code == 422 and "state" in replay.text
    assert forged.status_code == 422
    assert denied.status_code == 422 and "access_denied" in denied.text


async def test_accounts_and_their_sources_are_private(
    app: FastAPI, clients: Clients, dropbox: FakeDropbox
) -> None:
    account = await connect(clients.operator, app)
    response = await clients.admin.post(
        "/api/v1/users", json={"username": "other", "password": "other-pass-123", "role": "operator"}
    )
    assert response.status_code == 201
    async with client_for(app, await login(app, "other", "other-pass-123")) as other:
        assert (await other.get("/api/v1/cloud/accounts")).json()["data"] == []
        body = {"name": "Not mine", "type": "dropbox", "account_id": account["id"]}
        assert (await other.post("/api/v1/sources", json=body)).status_code == 404
        listing = await other.get("/api/v1/cloud/dropbox/list_folders", params={"account_id": account["id"]})
        assert listing.status_code == 404
    mine = (await clients.operator.get("/api/v1/cloud/accounts")).json()["data"]
    assert [a["id"] for a in mine] == [account["id"]]


async def test_an_unconfigured_provider_says_what_to_set(clients: Clients) -> None:
    response = await clients.operator.post("/api/v1/cloud/onedrive/auth", json={})
    assert response.status_code == 422 and "VTRACK_CLOUD_CLIENTS" in response.text
    response = await clients.operator.post("/api/v1/cloud/nosuch/auth", json={})
    assert response.status_code == 404


async def test_a_browser_finishing_sign_in_returns_to_the_dashboard(
    app: FastAPI, clients: Clients, dropbox: FakeDropbox
) -> None:
    """A person's browser gets a page, not JSON: it hands the account to the popup's opener (same origin
    only) or, without a popup, goes back to the Add source page with the new account chosen."""
    started = (await clients.operator.post("/api/v1/cloud/dropbox/auth", json={"flow": "code"})).json()[
        "data"
    ]
    async with httpx.AsyncClient() as browser:
        callback = urlsplit((await browser.get(started["authorizationUrl"])).headers["location"])
    async with client_for(app) as anonymous:
        page = await anonymous.get(f"{callback.path}?{callback.query}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    [account] = (await clients.operator.get("/api/v1/cloud/accounts")).json()["data"]
    back = f"/sources/add?protocol=dropbox&amp;account={account['id']}"
    assert f'href="{back}"' in page.text
    assert "window.location.origin" in page.text and '"*"' not in page.text


async def test_choosing_another_folder_syncs_that_folder_from_its_start(
    app: FastAPI, clients: Clients, services: Services, dropbox: FakeDropbox
) -> None:
    """The dashboard's folder tree saves `root`; the change feed's cursor belonged to the old folder."""
    account = await connect(clients.operator, app)
    body = {"name": "Shop Dropbox", "type": "dropbox", "account_id": account["id"], "root": "/Nowhere"}
    refused = await clients.operator.post("/api/v1/sources", json=body)
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "root"
    source = (await clients.operator.post("/api/v1/sources", json={**body, "root": "/Cameras"})).json()[
        "data"
    ]
    assert (await sync(clients.operator, source["id"]))["chunks_failed"] == 0

    missing = await clients.operator.patch(f"/api/v1/sources/{source['id']}", json={"root": "/Nowhere"})
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "root"
    denied = await clients.viewer.patch(f"/api/v1/sources/{source['id']}", json={"root": "/Personal"})
    assert denied.status_code == 403
    moved = await clients.operator.patch(f"/api/v1/sources/{source['id']}", json={"root": "/Personal"})
    assert moved.status_code == 200, moved.text
    assert (await sync(clients.operator, source["id"]))["chunks_failed"] == 0
    root = services.archive_layout.source_dir("Shop Dropbox")
    assert (root / "holiday.mp4").read_bytes() == b"outside the synced folder"
    audit = (await clients.admin.get("/api/v1/audit", params={"action": "source.update"})).json()["data"]
    assert audit[0]["details"]["fields"] == ["root"]


async def test_root_is_only_for_drives(clients: Clients) -> None:
    nvr = await clients.admin.post(
        "/api/v1/sources", json={"name": "Gate NVR", "type": "nvr", "host": "127.0.0.1", "port": 9}
    )
    if nvr.status_code == 201:  # saved without its cameras when the device does not answer
        refused = await clients.admin.patch(
            f"/api/v1/sources/{nvr.json()['data']['id']}", json={"root": "/x"}
        )
        assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "root"
    else:
        assert nvr.status_code in (422, 502), nvr.text
