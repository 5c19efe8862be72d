"""interrogate(): everything vtrack learns about one device, checked against the simulator's own truth
(its config, its RTSP server's port) and, for stream URIs, against onvif-zeep-async as an independent client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.devices.onvif import HOST, PASSWORD, USERNAME, device_ports, site
from tests.simulator.onvif.peers import onvif_client, stream_setup
from vtrack.devices.onvif.errors import NotOnvif, OnvifAuthError, OnvifProtocolError, OnvifTimeout
from vtrack.devices.onvif.interrogate import interrogate
from vtrack.devices.onvif.models import DeviceProbe
from vtrack.simulator.onvif.device import UNREACHABLE_HOST
from vtrack.simulator.runner import Simulator

SEED = [  # seed 000's three cameras
    ("Front Door Camera", "1920x1080", "H264"),
    ("Parking Lot Camera", "1280x720", "H265"),
    ("Warehouse Camera", "800x600", "MPEG4"),
]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def probe(
    http: httpx.AsyncClient, port: int, *, password: str = PASSWORD, request_timeout: float = 3.0
) -> DeviceProbe:
    return await interrogate(
        http, HOST, port, username=USERNAME, password=password, request_timeout=request_timeout
    )


def main_url(sim: Simulator, channel: int) -> str:
    return f"rtsp://{HOST}:{sim.rtsp.port}/live/{channel}"


async def test_seed_cameras_one_per_port(http: httpx.AsyncClient) -> None:
    async with site(3) as sim:
        probes = [await probe(http, port) for port in device_ports(sim)]
        simulated = [camera.rtsp_url for camera in sim.cameras()]
    for channel, (device, (name, resolution, codec)) in enumerate(zip(probes, SEED, strict=True), 1):
        assert not device.is_nvr and device.protocol == "onvif" and device.notes == []
        assert device.info is not None and device.info.serial == f"SIM{channel:06d}"
        assert device.name == name
        [camera] = device.cameras
        assert (camera.name, camera.resolution, camera.codec, camera.fps) == (name, resolution, codec, 25)
        assert camera.onvif_port == device.port
        assert camera.rtsp_port == sim.rtsp.port
        assert camera.rtsp_url == main_url(sim, channel) == simulated[channel - 1]
        assert camera.sub_stream_url == f"{main_url(sim, channel)}/sub"
        assert camera.snapshot_url == f"http://{HOST}:{device.port}/snapshot.jpg?channel={channel}"
        assert camera.capabilities == ["snapshot"]  # no Profile G on a plain camera, no PTZ
        assert (camera.manufacturer, camera.model) == ("vtrack", "SimCam")


async def test_nvr_gives_one_camera_per_channel_with_recording(http: httpx.AsyncClient) -> None:
    async with site(4, nvr=True) as sim:
        [port] = device_ports(sim)
        device = await probe(http, port)
    assert device.is_nvr and device.name == "vtrack NVR"
    assert [c.channel for c in device.cameras] == [1, 2, 3, 4]
    assert [c.id for c in device.cameras] == [f"onvif_{HOST}_channel_{n}" for n in (1, 2, 3, 4)]
    assert [c.name for c in device.cameras] == [
        "Front Door Camera",
        "Parking Lot Camera",
        "Warehouse Camera",
        "Front Door Camera 4",
    ]
    for channel, camera in enumerate(device.cameras, 1):
        assert "recording" in camera.capabilities
        assert camera.onvif_port == port
        assert camera.rtsp_url == main_url(sim, channel)
        assert camera.sub_stream_url == f"{main_url(sim, channel)}/sub"


async def test_stream_uris_match_an_independent_onvif_client(http: httpx.AsyncClient) -> None:
    """onvif-zeep-async, with its own WSDLs, reads the same main-stream URIs from the NVR."""
    async with site(2, nvr=True) as sim:
        [port] = device_ports(sim)
        ours = await probe(http, port)
        async with onvif_client(HOST, port, USERNAME, PASSWORD) as camera:
            await camera.update_xaddrs()
            media = await camera.create_media_service()
            theirs = {}
            for profile in await media.GetProfiles():
                uri = await media.GetStreamUri({"StreamSetup": stream_setup(), "ProfileToken": profile.token})
                theirs[profile.token] = uri.Uri
    assert {c.profile_token: c.rtsp_url for c in ours.cameras}.items() <= theirs.items()
    assert {c.sub_stream_url for c in ours.cameras} == set(theirs.values()) - {
        c.rtsp_url for c in ours.cameras
    }


@pytest.mark.parametrize("skew", [7200.0, -7200.0], ids=["ahead", "behind"])
async def test_clock_skew_still_authenticates_and_is_reported(http: httpx.AsyncClient, skew: float) -> None:
    async with site(1, clock_skew_seconds=skew) as sim:
        device = await probe(http, device_ports(sim)[0])
    assert device.clock_skew_seconds is not None and abs(device.clock_skew_seconds - skew) < 2
    assert len(device.cameras) == 1 and device.cameras[0].rtsp_url == main_url(sim, 1)
    [note] = device.notes
    assert f"{skew:+.0f} s off" in note


async def test_nat_rewrites_every_advertised_address_with_a_note(http: httpx.AsyncClient) -> None:
    async with site(1, wrong_xaddrs=True) as sim:
        port = device_ports(sim)[0]
        device = await probe(http, port)
    [camera] = device.cameras
    assert camera.rtsp_url == main_url(sim, 1) and camera.rtsp_port == sim.rtsp.port
    assert camera.sub_stream_url == f"{main_url(sim, 1)}/sub"
    assert camera.snapshot_url == f"http://{HOST}:{port}/snapshot.jpg?channel=1"
    assert any("NAT" in note and HOST in note for note in device.notes)
    seen = json.dumps([device.as_json(), camera.as_json()])
    assert UNREACHABLE_HOST not in seen


async def test_nvr_without_get_services_still_shows_recording(http: httpx.AsyncClient) -> None:
    async with site(3, nvr=True, no_get_services=True) as sim:
        device = await probe(http, device_ports(sim)[0])
    assert device.is_nvr and len(device.cameras) == 3
    assert all("recording" in camera.capabilities for camera in device.cameras)


async def test_camera_without_get_services_behind_nat(http: httpx.AsyncClient) -> None:
    async with site(1, no_get_services=True, wrong_xaddrs=True) as sim:
        device = await probe(http, device_ports(sim)[0])
    assert device.cameras[0].rtsp_url == main_url(sim, 1)
    assert any("NAT" in note for note in device.notes)


async def test_wrong_password_is_auth(http: httpx.AsyncClient) -> None:
    async with site(1, wrong_password=True) as sim:
        with pytest.raises(OnvifAuthError):
            await probe(http, device_ports(sim)[0])


async def test_slow_device_beyond_the_timeout(http: httpx.AsyncClient) -> None:
    async with site(1, slow_seconds=1.0) as sim:
        with pytest.raises(OnvifTimeout):
            await probe(http, device_ports(sim)[0], request_timeout=0.3)


async def test_slow_device_within_the_timeout_is_found(http: httpx.AsyncClient) -> None:
    async with site(1, slow_seconds=0.05) as sim:
        device = await probe(http, device_ports(sim)[0], request_timeout=2.0)
    assert len(device.cameras) == 1


async def test_malformed_xml_is_a_protocol_error(http: httpx.AsyncClient) -> None:
    async with site(1, malformed_xml=True) as sim:
        with pytest.raises(OnvifProtocolError):
            await probe(http, device_ports(sim)[0])


async def test_onvif_disabled_is_not_onvif(http: httpx.AsyncClient) -> None:
    async with site(1, onvif_disabled=True) as sim:
        with pytest.raises(NotOnvif):
            await probe(http, device_ports(sim)[0])
