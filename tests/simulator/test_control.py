"""The control endpoint flips a running camera's faults, and the camera's services notice at once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from tests.simulator.loopback import serve
from vtrack.simulator.config import SimulatorConfig, default_cameras
from vtrack.simulator.control import ControlServer
from vtrack.simulator.personas import hikvision

USER, PASSWORD = "admin", "ctl-pass-1"


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(cameras=default_cameras(2), username=USER, password=PASSWORD)


@pytest.fixture
async def control(config: SimulatorConfig) -> AsyncIterator[httpx.AsyncClient]:
    server = ControlServer(config.cameras, "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            yield client
    finally:
        await server.stop()


async def test_lists_cameras_with_their_faults(control: httpx.AsyncClient) -> None:
    response = await control.get("/cameras")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    cameras = body["data"]
    assert [camera["channel"] for camera in cameras] == [1, 2]
    assert cameras[0]["name"] == "Front Door Camera"
    assert cameras[1]["faults"] == {
        "stream_stall_seconds": 0.0,
        "offline": False,
        "wrong_password": False,
        "slow_seconds": 0.0,
        "clock_skew_seconds": 0.0,
        "wrong_xaddrs": False,
        "malformed_xml": False,
        "no_get_services": False,
        "onvif_disabled": False,
    }


async def test_patch_changes_only_the_named_switches(
    control: httpx.AsyncClient, config: SimulatorConfig
) -> None:
    response = await control.patch("/cameras/2/faults", json={"offline": True, "clock_skew_seconds": -90})
    assert response.status_code == 200
    assert response.json()["data"]["offline"] is True
    assert config.cameras[1].faults.offline is True
    assert config.cameras[1].faults.clock_skew_seconds == -90.0
    assert config.cameras[0].faults.offline is False
    assert (await control.get("/cameras/2/faults")).json()["data"]["clock_skew_seconds"] == -90.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ofline": True}, "ofline"),
        ({"offline": "yes"}, "offline"),
        ({"offline": 1}, "offline"),
        ({"slow_seconds": "2"}, "slow_seconds"),
        ({"slow_seconds": True}, "slow_seconds"),
        ({"slow_seconds": -1}, "slow_seconds"),
        ([True], "faults"),
    ],
)
async def test_bad_patches_are_422_naming_the_field(
    control: httpx.AsyncClient, config: SimulatorConfig, body: object, field: str
) -> None:
    response = await control.patch("/cameras/1/faults", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["field"] == field and field in error["message"]
    assert config.cameras[0].faults.offline is False and config.cameras[0].faults.slow_seconds == 0


async def test_unknown_camera_and_broken_json(control: httpx.AsyncClient) -> None:
    assert (await control.patch("/cameras/9/faults", json={"offline": True})).status_code == 404
    assert (await control.get("/cameras/x/faults")).status_code == 404
    broken = await control.patch("/cameras/1/faults", content=b"{offline")
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"


def test_refuses_to_listen_beyond_loopback(config: SimulatorConfig) -> None:
    with pytest.raises(ValueError, match="authentication"):
        ControlServer(config.cameras, "0.0.0.0")  # noqa: S104  (the address being refused)


async def test_faults_set_through_control_change_what_the_device_answers(
    control: httpx.AsyncClient, config: SimulatorConfig
) -> None:
    app = web.Application()
    hikvision.register(app, config, config.cameras[:1])
    async with serve(app, "127.0.0.3") as base:
        async with httpx.AsyncClient(base_url=base, auth=httpx.DigestAuth(USER, PASSWORD)) as device:
            assert (await device.get("/ISAPI/System/deviceInfo")).status_code == 200

            await control.patch("/cameras/1/faults", json={"wrong_password": True})
            assert (await device.get("/ISAPI/System/deviceInfo")).status_code == 401

            await control.patch("/cameras/1/faults", json={"wrong_password": False, "slow_seconds": 0.4})
            started = time.perf_counter()
            assert (await device.get("/ISAPI/System/deviceInfo")).status_code == 200
            slow = time.perf_counter() - started
            # httpx reuses its nonce, so one round trip, delayed once.
            assert 0.4 <= slow < 2.0

            await control.patch("/cameras/1/faults", json={"slow_seconds": 0, "offline": True})
            with pytest.raises(httpx.RemoteProtocolError):
                await device.get("/ISAPI/System/deviceInfo")

            await control.patch("/cameras/1/faults", json={"offline": False})
            started = time.perf_counter()
            assert (await device.get("/ISAPI/System/deviceInfo")).status_code == 200
            assert time.perf_counter() - started < 0.4
