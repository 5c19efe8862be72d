"""Camera passwords never leave the process in plaintext: not in responses, logs, or any data-dir file."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import select

from tests.conftest import ADMIN_PASSWORD, Clients, client_for, login
from vtrack.app import create_app
from vtrack.db.models import Camera
from vtrack.registry.cameras import PASSWORD_PURPOSE
from vtrack.services import Services
from vtrack.settings import Settings

CAMERAS = "/api/v1/cameras"

# Distinct, easily spotted values, one per way a password can come in.
DIRECT = "Direct-Secret-4d1f"
IN_URL = "UrlSecret-8b2c"
IN_URL_SPECIAL = "p@ss:w/rd-Q7"  # needs percent-encoding inside a URL
CSV_IMPORT = "CsvSecret-3e9a"
JSON_IMPORT = "JsonSecret-6c0d"
CHANNEL_LIST = "ChannelSecret-1a7b"
UPDATED = "Updated-Secret-5f2e"
UPDATED_URL = "UpdUrlSecret-9d3c"
REFUSED = "Refused-Secret-2b8e"
USER_PASSWORD = "User-Secret-7c4a"
STORED = [DIRECT, IN_URL, IN_URL_SPECIAL, CSV_IMPORT, JSON_IMPORT, CHANNEL_LIST, UPDATED, UPDATED_URL]
ALL = [*STORED, REFUSED, USER_PASSWORD]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def forms(secret: str) -> list[bytes]:
    """The byte strings a leak could take: as is, percent-encoded, JSON-escaped, UTF-16."""
    texts = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}
    return [t.encode() for t in texts] + [secret.encode("utf-16-le")]


def leaks(blob: bytes, secrets: list[str] = ALL) -> list[str]:
    return [s for s in secrets if any(form in blob for form in forms(s))]


def capture_bodies(*clients: AsyncClient) -> list[bytes]:
    bodies: list[bytes] = []

    async def keep(response: Response) -> None:
        bodies.append(await response.aread())

    for client in clients:
        client.event_hooks["response"].append(keep)
    return bodies


async def expect(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    if response.headers.get("content-type", "").startswith("application/json"):
        body: dict[str, Any] = response.json()
        return body
    return {}


async def store_secrets(admin: AsyncClient, operator: AsyncClient) -> list[str]:
    """Every way in for a password; returns the ids of the cameras created."""
    ids = []
    for body in (
        {"name": "Direct", "rtsp_url": "rtsp://10.0.0.1/s", "username": "u", "password": DIRECT},
        {"name": "Url", "rtsp_url": f"rtsp://u:{IN_URL}@10.0.0.2:554/s"},
        {"name": "Special", "rtsp_url": f"rtsp://u:{quote(IN_URL_SPECIAL, safe='')}@10.0.0.3/s"},
        {"name": "Later", "rtsp_url": "rtsp://10.0.0.4/s"},
        {"name": "LaterUrl", "rtsp_url": "rtsp://10.0.0.5/s"},
    ):
        ids.append((await expect(await operator.post(CAMERAS, json=body), 201))["data"]["id"])
    await expect(await operator.put(f"{CAMERAS}/{ids[3]}", json={"password": UPDATED}), 200)
    await expect(
        await operator.put(f"{CAMERAS}/{ids[4]}", json={"rtsp_url": f"rtsp://v:{UPDATED_URL}@10.0.0.5/s"}),
        200,
    )

    csv_text = f"name,rtsp_url,username,password\nCsv,rtsp://10.0.1.1/s,u,{CSV_IMPORT}\n"
    json_text = json.dumps([{"name": "Json", "rtsp_url": f"rtsp://u:{JSON_IMPORT}@10.0.1.2/s"}])
    channels = json.dumps(
        {
            "name": "Site",
            "server": {"host": "10.0.2.1", "port": 554, "username": "admin", "password": CHANNEL_LIST},
            "channels": [{"id": "ch1", "channel": 1}, {"id": "ch2", "channel": 2}],
        }
    )
    for fmt, text in (("csv", csv_text), ("json", json_text), ("json", channels)):
        result = await expect(
            await operator.post(f"{CAMERAS}/import", json={"format": fmt, "data": b64(text)}), 200
        )
        ids.extend(result["data"]["cameraIds"])

    # Refused input must not be echoed back either.
    for body in (
        {"name": "Meta", "rtsp_url": "rtsp://169.254.169.254/s", "password": REFUSED},
        {"name": "Meta", "rtsp_url": f"rtsp://u:{REFUSED}@169.254.169.254/s"},
        {"name": "Meta", "rtsp_url": f"rtsp://u:{REFUSED}@10.0.0.9:99999/s"},
        {"name": "Meta", "rtsp_url": f"ftp://u:{REFUSED}@10.0.0.9/s"},
        {"name": "", "rtsp_url": f"rtsp://u:{REFUSED}@10.0.0.9/s", "password": REFUSED},
        {"name": "Meta", "rtsp_url": "rtsp://10.0.0.9/s", "password": REFUSED * 30},
    ):
        await expect(await operator.post(CAMERAS, json=body), 422)
    bad_csv = (
        f"name,rtsp_url,password\nOk,rtsp://10.0.3.1/s,{REFUSED}\nBad,rtsp://u:{REFUSED}@169.254.1.1/,x\n"
    )
    await expect(await operator.post(f"{CAMERAS}/import", json={"format": "csv", "data": b64(bad_csv)}), 422)
    await expect(await operator.post(f"{CAMERAS}/{ids[0]}", json={"password": REFUSED}), 405)
    await expect(
        await operator.put(f"{CAMERAS}/{ids[0]}", json={"rtsp_url": f"rtsp://u:{REFUSED}@0.0.0.0/"}), 422
    )

    await expect(
        await admin.post(
            "/api/v1/users", json={"username": "eve", "password": USER_PASSWORD, "role": "viewer"}
        ),
        201,
    )
    return ids


async def read_everything(admin: AsyncClient, operator: AsyncClient, ids: list[str]) -> None:
    await expect(await operator.get(CAMERAS, params={"page_size": 100}), 200)
    for camera_id in ids:
        await expect(await operator.get(f"{CAMERAS}/{camera_id}"), 200)
    await expect(await operator.get(f"{CAMERAS}/summary"), 200)
    for fmt in ("csv", "json"):
        await expect(await operator.get(f"{CAMERAS}/export", params={"format": fmt}), 200)
        await expect(await admin.get(f"{CAMERAS}/export", params={"format": fmt}), 200)
        if operator is not admin:
            asked = await operator.get(
                f"{CAMERAS}/export", params={"format": fmt, "include_credentials": True}
            )
            await expect(asked, 403)
    await expect(await admin.get("/api/v1/audit", params={"page_size": 500}), 200)
    await expect(await admin.get("/api/v1/users"), 200)


async def test_passwords_stay_out_of_responses_and_logs(
    clients: Clients, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = capture_bodies(clients.admin, clients.operator)
    ids = await store_secrets(clients.admin, clients.operator)
    await read_everything(clients.admin, clients.operator, ids)
    assert len(bodies) > 30
    assert [leaks(body) for body in bodies if leaks(body)] == []

    # Stored under the current key, bound to their purpose, and they decrypt to what went in.
    async with services.database.session() as session:
        stored = dict((await session.execute(select(Camera.name, Camera.password_encrypted))).all())
    assert len(stored) == 9 and all(v is not None for v in stored.values())
    prefix = f"v1:{services.keyring.current_id}:"
    assert all(v.startswith(prefix) for v in stored.values() if v), stored
    plain = {name: services.keyring.decrypt(v, PASSWORD_PURPOSE) for name, v in stored.items() if v}
    assert plain == {
        "Direct": DIRECT,
        "Url": IN_URL,
        "Special": IN_URL_SPECIAL,
        "Later": UPDATED,
        "LaterUrl": UPDATED_URL,
        "Csv": CSV_IMPORT,
        "Json": JSON_IMPORT,
        "ch1": CHANNEL_LIST,
        "ch2": CHANNEL_LIST,
    }
    assert all(leaks(v.encode()) == [] for v in stored.values() if v)

    # The one sanctioned way out: an admin asking for an export with credentials (and it is audited).
    exported = await clients.admin.get(
        f"{CAMERAS}/export", params={"format": "json", "include_credentials": True}
    )
    assert exported.status_code == 200 and exported.headers["cache-control"] == "no-store"
    assert sorted(set(leaks(exported.content))) == sorted(STORED)
    audit = await clients.admin.get("/api/v1/audit", params={"action": "camera.export_credentials"})
    assert [e["actorName"] for e in audit.json()["data"]] == ["admin"]

    records = [r.getMessage() + repr(r.args) + str(r.exc_info) for r in caplog.records]
    assert any("INSERT" in r or "POST" in r for r in records), "logging was not captured at all"
    assert [r for r in records if leaks(r.encode())] == []
    assert leaks(caplog.text.encode()) == []


@pytest.mark.parametrize("backend", ["sqlite"])  # a file scan needs the database in the data dir
async def test_no_plaintext_in_any_data_dir_file(settings: Settings) -> None:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        services: Services = application.state.services
        admin_token = await login(application, "admin", ADMIN_PASSWORD)
        async with client_for(application, admin_token) as admin:
            ids = await store_secrets(admin, admin)
            await read_everything(admin, admin, ids)
            assert (await admin.delete(f"{CAMERAS}/{ids[0]}")).status_code == 204
        current_id = services.keyring.current_id
    # The app has stopped: what is on disk is all that is left.

    files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"vtrack.db", "secret.key"} <= names, names
    blobs = {str(p.relative_to(settings.data_dir)): p.read_bytes() for p in files}
    everything = b"".join(blobs.values())
    # The scan would see the data if it were there: names and ciphertexts are in these files.
    assert b"LaterUrl" in everything and f"v1:{current_id}:".encode() in everything
    assert {name: leaks(blob) for name, blob in blobs.items() if leaks(blob)} == {}
    assert ADMIN_PASSWORD.encode() not in everything


def test_leak_detector_sees_every_form() -> None:
    for secret in ALL:
        for blob in (
            f"x{secret}y".encode(),
            quote(secret, safe="").encode(),
            json.dumps({"a": secret}).encode(),
            secret.encode("utf-16-le"),
        ):
            assert leaks(blob) == [secret] or secret in leaks(blob)
    assert leaks(Path(__file__).name.encode()) == []
