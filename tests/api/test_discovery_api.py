"""The discovery API: a sweep runs as a job; progress and seed 000's result shape come back by id."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient

from tests.conftest import Clients
from vtrack.simulator.config import SimulatorConfig, default_cameras
from vtrack.simulator.runner import Simulator


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(cameras=default_cameras(3), host="127.0.0.1", onvif_port_base=0, rtsp_port=0)
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def finished(client: AsyncClient, job_id: str, within: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        response = await client.get(f"/api/v1/discovery/{job_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        if data["state"] not in {"queued", "running"}:
            return data
        assert time.monotonic() < deadline, data
        await asyncio.sleep(0.05)


async def test_a_sweep_finds_the_three_seed_cameras_and_keeps_the_password_out_of_the_run(
    clients: Clients, site: Simulator
) -> None:
    ports = [device.port for device in site.devices.devices]
    body = {
        "hosts": "127.0.0.1",
        "ports": ports,
        "username": "admin",
        "password": "admin123",
        "ws_discovery": False,
    }
    response = await clients.operator.post("/api/v1/discovery", json=body)
    assert response.status_code == 202, response.text
    job_id = response.json()["data"]["jobId"]
    data = await finished(clients.viewer, job_id)
    assert data["state"] == "succeeded" and data["progress"] == 1.0
    result = data["result"]
    assert result["success"] is True
    assert result["message"] == f"ONVIF Multi-Camera Discovery - Found 3 camera(s) on ports: {sorted(ports)}"
    assert data["message"] == result["message"]
    cameras = result["cameras"]
    assert [c["id"] for c in cameras] == [f"onvif_127.0.0.1_channel_{n}" for n in (1, 2, 3)]
    assert all({"name", "resolution", "codec", "rtsp_url", "onvif_port"} <= set(c) for c in cameras)

    run = (await clients.admin.get(f"/api/v1/jobs/{job_id}")).json()["data"]
    assert "password" not in run["params"] and "admin123" not in str(run)
    assert run["params"]["password_encrypted"].startswith("v1:")


async def test_bad_targets_are_a_422_naming_the_field_and_viewers_cannot_sweep(clients: Clients) -> None:
    bad = await clients.admin.post("/api/v1/discovery", json={"hosts": "10.0.0.0/8", "ports": "80"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "hosts"
    bad = await clients.admin.post("/api/v1/discovery", json={"hosts": "127.0.0.1", "ports": "1000-99999"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "ports"
    assert (await clients.viewer.post("/api/v1/discovery", json={})).status_code == 403
    assert (await clients.viewer.get("/api/v1/discovery/nope")).status_code == 404
