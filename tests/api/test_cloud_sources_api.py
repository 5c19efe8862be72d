"""S3 sources end to end through the API: moto's S3 server on loopback, the cloud engine, the archive."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.api.test_sync_api import finished
from tests.conftest import Clients, archive_settings, client_for, login
from tests.peers.moto_s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, running_moto_s3
from vtrack.services import Services
from vtrack.settings import Settings

VIDEOS = {
    "gate/2026-11-20/0800.mp4": b"\x00\x00\x00\x18ftypmp42" + b"g" * 5000,
    "gate/2026-11-20/0900.mp4": b"\x00\x00\x00\x18ftypmp42" + b"h" * 7000,
    "yard/clip.mkv": b"\x1a\x45\xdf\xa3" + b"y" * 3000,
}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with running_moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return archive_settings(tmp_path, database_url)


class Bucket:
    def __init__(self, endpoint: str, name: str) -> None:
        self.name = name
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )
        self.client.create_bucket(Bucket=name)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)

    def copy(self, key: str, to: str) -> None:
        self.client.copy_object(Bucket=self.name, Key=to, CopySource={"Bucket": self.name, "Key": key})


@pytest.fixture
def bucket(s3_endpoint: str, request: pytest.FixtureRequest) -> Bucket:
    name = "cam-" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]  # noqa: S324
    store = Bucket(s3_endpoint, name)
    for key, data in VIDEOS.items():
        store.put(f"exports/{key}", data)
    store.put("exports/gate/readme.txt", b"not a video")
    return store


def s3_body(endpoint: str, store: Bucket, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Office S3",
        "type": "s3",
        "bucket": store.name,
        "prefix": "exports",
        "endpoint_url": endpoint,
        "region": REGION,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
        **changes,
    }


async def sync(client: AsyncClient, source_id: str) -> dict[str, Any]:
    response = await client.post(f"/api/v1/sources/{source_id}/sync", json={})
    assert response.status_code == 202, response.text
    run = await finished(client, response.json()["data"]["jobId"])
    assert run["state"] == "done", run
    result: dict[str, Any] = run["result"]
    return result


async def create(client: AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/sources", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_an_s3_prefix_is_archived_once_and_a_rerun_fetches_nothing(
    clients: Clients, services: Services, s3_endpoint: str, bucket: Bucket
) -> None:
    source = await create(clients.operator, s3_body(s3_endpoint, bucket))
    assert source["type"] == "s3" and source["hasPassword"] is True
    assert SECRET_ACCESS_KEY not in str(source)
    first = await sync(clients.operator, source["id"])
    root = services.archive_layout.source_dir("Office S3")
    archived = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert archived == VIDEOS  # only videos, the folders kept, the bytes exact
    assert first["chunks_done"] + 0 <= 3 and first["chunks_failed"] == 0

    again = await sync(clients.operator, source["id"])
    assert again["chunks_planned"] == 0 and again["bytes_done"] == 0

    status = (await clients.operator.get(f"/api/v1/sources/{source['id']}/sync-status")).json()["data"]
    assert status["files"]["done"] == 3, status


async def test_new_changed_and_copied_objects(
    clients: Clients, services: Services, s3_endpoint: str, bucket: Bucket
) -> None:
    source = await create(clients.operator, s3_body(s3_endpoint, bucket))
    await sync(clients.operator, source["id"])
    root = services.archive_layout.source_dir("Office S3")

    bucket.put("exports/gate/2026-11-20/0800.mp4", b"\x00\x00\x00\x18ftypmp42" + b"NEW" * 100)
    bucket.copy("exports/yard/clip.mkv", "exports/backup/clip-copy.mkv")
    result = await sync(clients.operator, source["id"])
    assert result["chunks_planned"] == 1, result  # the changed one; the copy is linked, not downloaded
    assert (root / "gate/2026-11-20/0800.mp4").read_bytes().endswith(b"NEW" * 100)
    copy = root / "backup/clip-copy.mkv"
    assert copy.read_bytes() == VIDEOS["yard/clip.mkv"]
    assert copy.stat().st_ino == (root / "yard/clip.mkv").stat().st_ino  # a hard link: no second copy


async def test_bad_keys_and_missing_fields_are_named(
    clients: Clients, s3_endpoint: str, bucket: Bucket
) -> None:
    response = await clients.operator.post(
        "/api/v1/sources", json=s3_body(s3_endpoint, bucket, bucket="no-such-bucket-here")
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "bucket"

    body = s3_body(s3_endpoint, bucket)
    del body["bucket"]
    response = await clients.operator.post("/api/v1/sources", json=body)
    assert response.status_code == 422 and "bucket" in response.text

    response = await clients.operator.post("/api/v1/sources", json=s3_body("http://169.254.169.254", bucket))
    assert response.status_code == 422 and "endpoint_url" in response.text


async def test_cloud_sources_are_private_to_their_owner(
    app: FastAPI, clients: Clients, s3_endpoint: str, bucket: Bucket
) -> None:
    source = await create(clients.operator, s3_body(s3_endpoint, bucket))
    response = await clients.admin.post(
        "/api/v1/users", json={"username": "other", "password": "other-pass-123", "role": "operator"}
    )
    assert response.status_code == 201
    async with client_for(app, await login(app, "other", "other-pass-123")) as other:
        assert (await other.get(f"/api/v1/sources/{source['id']}")).status_code == 404
        assert (await other.post(f"/api/v1/sources/{source['id']}/sync", json={})).status_code == 404
        assert (await other.get(f"/api/v1/sources/{source['id']}/sync-status")).status_code == 404
        assert (await other.delete(f"/api/v1/sources/{source['id']}")).status_code == 404
        listed = (await other.get("/api/v1/sources")).json()["data"]
        assert source["id"] not in [s["id"] for s in listed]
    assert (await clients.admin.get(f"/api/v1/sources/{source['id']}")).status_code == 200
    assert (await clients.viewer.get(f"/api/v1/sources/{source['id']}")).status_code == 404


async def test_folder_tree_of_an_s3_source(clients: Clients, s3_endpoint: str, bucket: Bucket) -> None:
    source = await create(clients.operator, s3_body(s3_endpoint, bucket))
    response = await clients.operator.get("/api/v1/cloud/s3/list_folders", params={"source_id": source["id"]})
    assert response.status_code == 200, response.text
    assert [f["name"] for f in response.json()["data"]] == ["gate", "yard"]
    response = await clients.operator.get(
        "/api/v1/cloud/s3/list_folders", params={"source_id": source["id"], "parent": "gate"}
    )
    assert [f["path"] for f in response.json()["data"]] == ["gate/2026-11-20"]
