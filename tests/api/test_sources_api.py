"""Saving sources against a running simulator: probe, detected/selected cameras, camera rows, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from tests.conftest import Clients
from tests.devices.vendor_site import HOST as VENDOR_HOST
from tests.devices.vendor_site import PASSWORD as VENDOR_PASSWORD
from tests.devices.vendor_site import USER as VENDOR_USER
from tests.devices.vendor_site import device_port, vendor_site
from vtrack.db.models import Camera
from vtrack.services import Services
from vtrack.simulator.config import SimulatorConfig, default_cameras
from vtrack.simulator.runner import Simulator

PASSWORD = "admin123"


async def _simulator(nvr: bool) -> Simulator:
    config = SimulatorConfig(
        cameras=default_cameras(3), host="127.0.0.1", onvif_port_base=0, rtsp_port=0, nvr=nvr
    )
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    return simulator


@pytest.fixture(scope="module")
async def cameras_site() -> AsyncIterator[Simulator]:
    """Seed 000's site: three single cameras, each on its own ONVIF port."""
    simulator = await _simulator(nvr=False)
    yield simulator
    await simulator.stop()


@pytest.fixture(scope="module")
async def nvr_site() -> AsyncIterator[Simulator]:
    simulator = await _simulator(nvr=True)
    yield simulator
    await simulator.stop()


def ports(simulator: Simulator) -> list[int]:
    return [device.port for device in simulator.devices.devices]


def onvif_source(simulator: Simulator, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "nvr_localhost",
        "type": "onvif",
        "protocol": "onvif",
        "host": "127.0.0.1",
        "ports": ports(simulator),
        "username": "admin",
        "password": PASSWORD,
    }
    body.update(extra)
    return body


async def create(client: AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/sources", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_saving_an_onvif_site_detects_three_cameras_and_registers_them(
    clients: Clients, cameras_site: Simulator, services: Services
) -> None:
    source = await create(clients.operator, onvif_source(cameras_site))
    detected = source["detectedCameras"]
    assert [(c["name"], c["resolution"], c["codec"]) for c in detected] == [
        ("Front Door Camera", "1920x1080", "H264"),
        ("Parking Lot Camera", "1280x720", "H265"),
        ("Warehouse Camera", "800x600", "MPEG4"),
    ]
    assert [c["onvif_port"] for c in detected] == ports(cameras_site)
    assert source["selectedCameras"] == [c["name"] for c in detected]
    assert source["hasPassword"] is True and "password" not in source
    assert len(source["cameraIds"]) == 3

    listed = (await clients.viewer.get("/api/v1/cameras", params={"page_size": 50})).json()["data"]
    by_name = {camera["name"]: camera for camera in listed}
    front = by_name["Front Door Camera"]
    assert front["groupName"] == "nvr_localhost" and front["sourceId"] == source["id"]
    assert front["rtspUrl"].startswith("rtsp://127.0.0.1:") and "admin123" not in front["rtspUrl"]
    assert front["snapshotUrl"].endswith("/snapshot.jpg?channel=1")
    assert front["codec"] == "h264" and front["fps"] == 25 and front["hasPassword"] is True
    async with services.database.session() as session:
        stored = (await session.execute(select(Camera.password_encrypted))).scalars().all()
    assert stored and all(value and PASSWORD not in value for value in stored)


async def test_an_nvr_gives_one_camera_per_channel_with_recording(
    clients: Clients, nvr_site: Simulator
) -> None:
    source = await create(
        clients.admin,
        onvif_source(nvr_site, name="NVR lobby", type="nvr", ports=None, port=ports(nvr_site)[0]),
    )
    assert [c["channel"] for c in source["detectedCameras"]] == [1, 2, 3]
    assert all("recording" in c["capabilities"] for c in source["detectedCameras"])
    assert len(source["cameraIds"]) == 3


async def test_selecting_some_cameras_registers_only_those_and_reselecting_reuses_rows(
    clients: Clients, cameras_site: Simulator
) -> None:
    source = await create(
        clients.admin, onvif_source(cameras_site, selected_cameras=["Front Door Camera", "Warehouse Camera"])
    )
    assert len(source["cameraIds"]) == 2
    first_ids = set(source["cameraIds"])

    response = await clients.admin.patch(
        f"/api/v1/sources/{source['id']}", json={"selected_cameras": ["Front Door Camera"]}
    )
    assert response.status_code == 200, response.text
    narrowed = response.json()["data"]
    assert narrowed["selectedCameras"] == ["Front Door Camera"] and len(narrowed["cameraIds"]) == 1

    response = await clients.admin.patch(
        f"/api/v1/sources/{source['id']}",
        json={"selected_cameras": ["Front Door Camera", "Warehouse Camera", "Parking Lot Camera"]},
    )
    widened = response.json()["data"]
    assert len(widened["cameraIds"]) == 3
    assert first_ids <= set(widened["cameraIds"])  # the deselected camera came back as the same row


async def test_unknown_selected_camera_is_a_422_naming_it_and_saves_nothing(
    clients: Clients, cameras_site: Simulator
) -> None:
    response = await clients.admin.post(
        "/api/v1/sources", json=onvif_source(cameras_site, selected_cameras=["Front Door Camera", "Roof"])
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["details"][0]["field"] == "selected_cameras.1" and "Roof" in error["message"]
    assert (await clients.admin.get("/api/v1/sources")).json()["meta"]["total"] == 0


async def test_wrong_password_is_a_422_on_password_and_nothing_is_saved(
    clients: Clients, cameras_site: Simulator
) -> None:
    response = await clients.admin.post("/api/v1/sources", json=onvif_source(cameras_site, password="nope"))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "password"
    assert "nope" not in response.text
    assert (await clients.admin.get("/api/v1/sources")).json()["meta"]["total"] == 0
    assert (await clients.admin.get("/api/v1/cameras")).json()["meta"]["total"] == 0


async def test_nothing_listening_is_a_502_saying_unreachable(clients: Clients, unused_tcp_port: int) -> None:
    body = {
        "name": "gone",
        "type": "onvif",
        "host": "127.0.0.1",
        "port": unused_tcp_port,
        "timeout_seconds": 2,
    }
    response = await clients.admin.post("/api/v1/sources", json=body)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["code"] == "device_error" and error["details"]["kind"] == "unreachable"
    assert "refused" in error["message"]


async def test_names_are_unique_and_bad_input_names_the_field(
    clients: Clients, cameras_site: Simulator
) -> None:
    await create(clients.admin, onvif_source(cameras_site))
    again = await clients.admin.post("/api/v1/sources", json=onvif_source(cameras_site, name="NVR_LOCALHOST"))
    assert again.status_code == 409
    bad_ports = await clients.admin.post("/api/v1/sources", json=onvif_source(cameras_site, ports="80,70000"))
    assert bad_ports.status_code == 422 and bad_ports.json()["error"]["details"][0]["field"] == "ports"
    no_host = await clients.admin.post("/api/v1/sources", json={"name": "x", "type": "nvr"})
    assert no_host.status_code == 422 and "needs host" in no_host.text
    metadata = await clients.admin.post(
        "/api/v1/sources", json=onvif_source(cameras_site, name="meta", host="169.254.169.254")
    )
    assert metadata.status_code == 422 and "link-local" in metadata.text


async def test_viewers_read_but_cannot_save_and_delete_can_take_the_cameras(
    clients: Clients, cameras_site: Simulator
) -> None:
    forbidden = await clients.viewer.post("/api/v1/sources", json=onvif_source(cameras_site))
    assert forbidden.status_code == 403
    source = await create(clients.operator, onvif_source(cameras_site))
    assert (await clients.viewer.get(f"/api/v1/sources/{source['id']}")).status_code == 200

    response = await clients.operator.delete(
        f"/api/v1/sources/{source['id']}", params={"delete_cameras": True}
    )
    assert response.status_code == 200 and response.json()["data"] == {"camerasDeleted": 3}
    assert (await clients.admin.get(f"/api/v1/sources/{source['id']}")).status_code == 404
    assert (await clients.admin.get("/api/v1/cameras")).json()["meta"]["total"] == 0
    audit = (await clients.admin.get("/api/v1/audit", params={"page_size": 100})).json()["data"]
    assert {"source.create", "source.delete"} <= {entry["action"] for entry in audit}


async def test_reprobe_refreshes_detected_cameras(clients: Clients, cameras_site: Simulator) -> None:
    source = await create(clients.admin, onvif_source(cameras_site))
    response = await clients.admin.post(f"/api/v1/sources/{source['id']}/probe")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert len(data["detectedCameras"]) == 3 and data["probedAt"] >= source["probedAt"]
    assert sorted(data["cameraIds"]) == sorted(source["cameraIds"])


async def test_an_rtsp_url_source_is_one_camera_described_by_its_stream(
    clients: Clients, cameras_site: Simulator
) -> None:
    url = cameras_site.cameras()[2].rtsp_url.replace("rtsp://", "rtsp://admin:admin123@")
    source = await create(clients.admin, {"name": "Gate", "type": "rtsp", "rtsp_url": url})
    [camera] = source["detectedCameras"]
    assert (camera["name"], camera["codec"], camera["resolution"]) == ("Gate", "MPEG4", "800x600")
    assert camera["rtsp_url"].startswith("rtsp://127.0.0.1:") and "admin123" not in str(source)
    assert source["username"] == "admin" and source["hasPassword"] is True
    [camera_id] = source["cameraIds"]
    stored = (await clients.admin.get(f"/api/v1/cameras/{camera_id}")).json()["data"]
    assert stored["protocol"] == "rtsp" and stored["codec"] == "mpeg4"

    bad = await clients.admin.post(
        "/api/v1/sources", json={"name": "Gate2", "type": "rtsp", "rtsp_url": url.replace("admin123", "x")}
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "password"


@pytest.mark.parametrize("persona", ["hikvision", "dahua"])
async def test_a_vendor_nvr_with_onvif_off_is_added_through_its_own_api(
    clients: Clients, persona: str
) -> None:
    async with vendor_site(persona, nvr=True, onvif_disabled=True) as site:  # type: ignore[arg-type]
        body = {
            "name": f"{persona} nvr",
            "type": "nvr",  # the user picked NVR/ONVIF; ONVIF is off, so the vendor API answers instead
            "host": VENDOR_HOST,
            "port": device_port(site),
            "username": VENDOR_USER,
            "password": VENDOR_PASSWORD,
        }
        source = await create(clients.admin, body)
        assert source["protocol"] == persona
        cameras = source["detectedCameras"]
        assert [(c["name"], c["protocol"]) for c in cameras] == [("Gate", persona), ("Yard", persona)]
        assert all(c["rtsp_url"].startswith("rtsp://127.0.0.1:") for c in cameras)
        [camera_id, _] = source["cameraIds"]
        shot = await clients.admin.post(f"/api/v1/cameras/{camera_id}/snapshot", json={"timeout_seconds": 10})
        assert shot.status_code == 201, shot.text
        assert shot.json()["data"]["method"] == "vendor"

        typed = await clients.admin.post(
            "/api/v1/sources", json={**body, "name": "typed", "type": persona, "password": "wrong"}
        )
        assert typed.status_code == 422 and typed.json()["error"]["details"][0]["field"] == "password"
