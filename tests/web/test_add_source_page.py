"""The "Add source" wizard: what each protocol's page offers, and the API calls add_source.js makes, run
against the real simulator on loopback and moto's S3 server, so the page's flow is known to work."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from httpx import AsyncClient

from tests.conftest import archive_settings
from tests.fakes.tapo import FakeTapo
from tests.peers.moto_s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, running_moto_s3
from tests.web.conftest import WebClients
from vtrack.settings import Settings
from vtrack.simulator.config import SimulatorConfig, default_cameras
from vtrack.simulator.runner import Simulator

KEYS = (
    "onvif",
    "nvr",
    "rtsp",
    "hikvision",
    "dahua",
    "tapo",
    "s3",
    "dropbox",
    "onedrive",
    "gdrive",
    "imou",
    "ezviz",
)
DEVICE_KEYS = {"onvif", "nvr", "rtsp", "hikvision", "dahua"}
VIETNAMESE = ("Thêm nguồn", "Chọn giao thức", "Kiểm tra kết nối", "Tìm camera", "Mật khẩu", "Camera ONVIF")
FIELDS = {
    "onvif": {"name", "hosts", "ports", "username", "password", "timeout_seconds", "ws_discovery"},
    "nvr": {"name", "hosts", "ports", "username", "password", "timeout_seconds"},
    "hikvision": {"name", "hosts", "ports", "username", "password", "timeout_seconds"},
    "dahua": {"name", "hosts", "ports", "username", "password", "timeout_seconds"},
    "rtsp": {"name", "rtsp_url", "username", "password", "hosts", "ports", "timeout_seconds"},
    "tapo": {"name", "host", "password", "port", "stream_port", "timeout_seconds"},
    "s3": {"name", "bucket", "prefix", "endpoint_url", "region", "access_key_id", "secret_access_key"},
    "dropbox": {"name", "account_id", "root"},
    "onedrive": {"name", "account_id", "root"},
    "gdrive": {"name", "account_id", "root"},
    "imou": {"name", "account_id", "app_key", "app_secret"},
    "ezviz": {"name", "account_id", "app_key", "app_secret"},
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """No disk reserve: a saved S3 source may start syncing into the test's small temporary disk."""
    return archive_settings(tmp_path, database_url)


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(cameras=default_cameras(3), host="127.0.0.1", onvif_port_base=0, rtsp_port=0)
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with running_moto_s3() as endpoint:
        yield endpoint


def names_of_fields(html: str) -> set[str]:
    form = html[html.index('id="add-source-form"') :]
    return set(re.findall(r'<(?:input|select)[^>]*\sname="([^"]+)"', form))


async def test_the_page_offers_every_protocol_and_viewers_are_refused(web: WebClients) -> None:
    response = await web.operator.get("/sources/add")
    assert response.status_code == 200, response.text
    for key in KEYS:
        assert f'data-testid="protocol-{key}"' in response.text
        assert f'href="/sources/add?protocol={key}"' in response.text
    assert 'id="add-source-form"' not in response.text  # nothing chosen yet: no fields, no script
    refused = await web.viewer.get("/sources/add?protocol=onvif")
    assert refused.status_code == 403 and "sources:write" in refused.text
    assert 'data-testid="protocol-onvif"' not in refused.text


async def test_each_protocol_shows_the_fields_the_api_takes(web: WebClients) -> None:
    for key, fields in FIELDS.items():
        response = await web.admin.get(f"/sources/add?protocol={key}")
        assert response.status_code == 200, (key, response.text)
        assert names_of_fields(response.text) == fields, key
        assert f'data-protocol="{key}"' in response.text
        assert 'aria-current="true"' in response.text
        assert 'data-testid="test-connection"' in response.text
        assert 'data-testid="save-source"' in response.text
        assert ('data-testid="discover"' in response.text) == (key in DEVICE_KEYS)
        assert "/static/js/add_source.js" in response.text
    gdrive = await web.admin.get("/sources/add?protocol=gdrive")
    assert 'data-type="google_drive"' in gdrive.text  # the API's provider name behind the page's key
    assert 'data-testid="not-configured"' in gdrive.text  # no OAuth client ID in the test settings
    assert 'data-testid="connect-account"' not in gdrive.text


async def test_vietnamese_labels(web: WebClients) -> None:
    web.operator.cookies.set("vtrack_lang", "vi")
    response = await web.operator.get("/sources/add?protocol=onvif")
    assert response.status_code == 200
    for text in VIETNAMESE:
        assert text in response.text
    assert "Test connection" not in response.text


async def sweep(client: AsyncClient, body: dict[str, Any], within: float = 20.0) -> dict[str, Any]:
    """What the page's Test connection / Discover buttons do: start a sweep and poll it to the end."""
    started = await client.post("/api/v1/discovery", json=body)
    assert started.status_code == 202, started.text
    job_id = started.json()["data"]["jobId"]
    deadline = time.monotonic() + within
    while True:
        data: dict[str, Any] = (await client.get(f"/api/v1/discovery/{job_id}")).json()["data"]
        if data["state"] not in {"queued", "running"}:
            assert data["result"] is not None, data
            result: dict[str, Any] = data["result"]
            return result
        assert time.monotonic() < deadline, data
        await asyncio.sleep(0.1)


async def test_discovered_simulator_cameras_are_saved_as_a_source_with_those_cameras(
    web: WebClients, site: Simulator
) -> None:
    ports = ",".join(str(device.port) for device in site.devices.devices)
    body = {"hosts": "127.0.0.1", "ports": ports, "username": "admin", "password": "admin123",
            "timeout_seconds": 3, "ws_discovery": False}  # fmt: skip
    wrong = await sweep(web.operator, {**body, "password": "nope"})
    assert wrong["devices"] == [] and wrong["problems"][0]["kind"] == "auth"  # the test says why

    result = await sweep(web.operator, body)
    cameras = result["cameras"]
    assert {c["name"] for c in cameras} == {"Front Door Camera", "Parking Lot Camera", "Warehouse Camera"}
    for camera in cameras:  # what the page's camera grid shows
        assert camera["host"] == "127.0.0.1" and camera["onvif_port"] and camera["resolution"]
        assert camera["codec"] and "fps" in camera and "manufacturer" in camera

    chosen = [c for c in cameras if c["name"] != "Warehouse Camera"]
    save = {"name": "Simulated site", "type": "onvif", "host": "127.0.0.1",
            "ports": sorted({c["onvif_port"] for c in chosen}), "username": "admin", "password": "admin123",
            "selected_cameras": [c["name"] for c in chosen], "timeout_seconds": 3}  # fmt: skip
    created = await web.operator.post("/api/v1/sources", json=save)
    assert created.status_code == 201, created.text
    assert len(created.json()["data"]["cameraIds"]) == 2
    listed = (await web.operator.get("/api/v1/cameras", params={"page_size": 50})).json()["data"]
    saved = {camera["name"]: camera for camera in listed}
    assert set(saved) == {"Front Door Camera", "Parking Lot Camera"}
    assert saved["Front Door Camera"]["resolution"] == "1920x1080"


async def test_an_s3_source_is_created_by_its_test_probed_again_and_removed_on_cancel(
    web: WebClients, s3_endpoint: str, request: pytest.FixtureRequest
) -> None:
    bucket = "as-" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]  # noqa: S324
    client: Any = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
    )  # fmt: skip
    await asyncio.to_thread(client.create_bucket, Bucket=bucket)
    body = {"name": "Office S3", "type": "s3", "bucket": bucket, "prefix": "exports",
            "endpoint_url": s3_endpoint, "region": REGION, "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": SECRET_ACCESS_KEY}  # fmt: skip

    refused = await web.operator.post("/api/v1/sources", json={**body, "bucket": bucket + "-missing"})
    assert refused.status_code >= 400, refused.text  # a failed test saves nothing
    assert (await web.operator.get("/api/v1/sources")).json()["data"] == []

    created = await web.operator.post("/api/v1/sources", json=body)  # "Test connection"
    assert created.status_code == 201, created.text
    source_id = created.json()["data"]["id"]
    probed = await web.operator.post(f"/api/v1/sources/{source_id}/probe")  # "Test connection" again
    assert probed.status_code == 200 and probed.json()["data"]["status"] == "ok", probed.text

    cancelled = await web.operator.delete(f"/api/v1/sources/{source_id}")  # "Cancel"
    assert cancelled.status_code == 200
    assert (await web.operator.get("/api/v1/sources")).json()["data"] == []


@pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning"
)  # the camera's own certificate
async def test_a_tapo_camera_is_tested_by_saving_it_and_a_wrong_password_saves_nothing(
    web: WebClients,
) -> None:
    async with FakeTapo(name="Porch") as camera:
        body = {"name": "Porch Tapo", "type": "tapo", "host": camera.host, "port": camera.control_port,
                "stream_port": camera.media_port, "password": "wrong", "timeout_seconds": 5}  # fmt: skip
        refused = await web.operator.post("/api/v1/sources", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"][0]["field"] == "password"  # the page marks that field
        for bad in ({"stream_port": 70000}, {"host": ""}):
            invalid = await web.operator.post("/api/v1/sources", json={**body, **bad})
            assert invalid.status_code == 422, invalid.text
            assert [d["field"] for d in invalid.json()["error"]["details"]] == list(bad)
        assert (await web.operator.get("/api/v1/sources")).json()["data"] == []

        created = await web.operator.post("/api/v1/sources", json={**body, "password": camera.password})
        assert created.status_code == 201, created.text
        source = created.json()["data"]
    [detected] = source["detectedCameras"]  # what the page's "connected" message names
    assert (detected["name"], detected["model"], detected["protocol"]) == ("Porch", "C200", "tapo")
    assert source["config"]["stream_port"] == camera.media_port and camera.password not in str(source)


async def test_an_rtsp_url_tested_first_becomes_its_camera_on_save(web: WebClients, site: Simulator) -> None:
    url = site.cameras()[0].rtsp_url
    body = {"name": "Gate stream", "type": "rtsp", "rtsp_url": url,
            "username": "admin", "password": "admin123"}  # fmt: skip
    tested = await web.operator.post("/api/v1/sources", json={**body, "selected_cameras": []})  # the test
    assert tested.status_code == 201, tested.text
    source = tested.json()["data"]
    assert source["cameraIds"] == [] and source["detectedCameras"][0]["resolution"] == "1920x1080"
    saved = await web.operator.patch(
        f"/api/v1/sources/{source['id']}", json={"selected_cameras": ["Gate stream"]}
    )  # Save
    assert saved.status_code == 200, saved.text
    assert len(saved.json()["data"]["cameraIds"]) == 1
