"""A whole simulated site in-process, checked by independent clients: ONVIF, RTSP, persona, SDK, faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import av
import httpx
import pytest

from tests.shared_data import PEOPLE_VIDEO
from tests.simulator.onvif.peers import onvif_client, stream_setup
from vtrack.simulator.config import SimulatorConfig, default_cameras
from vtrack.simulator.runner import Simulator


@pytest.fixture
async def site() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(
        cameras=default_cameras(3), host="127.0.0.7", onvif_port_base=0, rtsp_port=0, persona="hikvision"
    )
    simulator = Simulator(config, discovery_port=None, control_port=0, sdk_port_base=0)
    await simulator.start()
    yield simulator
    await simulator.stop()


def first_frame_size(url: str) -> tuple[int, int]:
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


async def test_onvif_stream_uri_leads_to_a_decodable_stream(site: Simulator) -> None:
    config = site.config
    listed = site.cameras()
    assert [c.name for c in listed] == ["Front Door Camera", "Parking Lot Camera", "Warehouse Camera"]
    parking = listed[1]
    port = int(parking.onvif_url.split(":")[2].split("/")[0])
    async with onvif_client(config.host, port, config.username, config.password) as camera:
        await camera.update_xaddrs()
        media = await camera.create_media_service()
        profiles = await media.GetProfiles()
        uri = await media.GetStreamUri({"StreamSetup": stream_setup(), "ProfileToken": profiles[0].token})
    # The URI ONVIF hands out is the one the RTSP server really listens on (port chosen at start).
    assert uri.Uri == parking.rtsp_url == f"rtsp://127.0.0.7:{site.rtsp.port}/live/2"
    assert parking.sub_rtsp_url == f"{parking.rtsp_url}/sub"
    with_credentials = uri.Uri.replace("rtsp://", f"rtsp://{config.username}:{config.password}@")
    assert await asyncio.to_thread(first_frame_size, with_credentials) == (1280, 720)


async def test_persona_routes_sdk_port_and_fault_control(site: Simulator) -> None:
    config = site.config
    front = site.cameras()[0]
    base = front.onvif_url.rsplit("/onvif", 1)[0]
    auth = httpx.DigestAuth(config.username, config.password)
    async with httpx.AsyncClient(timeout=10) as client:
        info = await client.get(f"{base}/ISAPI/System/deviceInfo", auth=auth)
        assert info.status_code == 200 and "<DeviceInfo" in info.text

        reader, writer = await asyncio.open_connection(config.host, site.sdk_ports[0].port)
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        await writer.drain()
        reply = await asyncio.wait_for(reader.read(64), 10)
        assert not reply.startswith(b"HTTP/") and b"onvif" not in reply.lower()
        writer.close()

        assert site.control is not None
        flipped = await client.patch(f"{site.control.url}/cameras/1/faults", json={"wrong_password": True})
        assert flipped.status_code == 200, flipped.text
        refused = await client.get(f"{base}/ISAPI/System/deviceInfo", auth=auth)
        assert refused.status_code == 401
    # The same switch reaches the RTSP server: the right password no longer opens the stream.
    url = front.rtsp_url.replace("rtsp://", f"rtsp://{config.username}:{config.password}@")
    with pytest.raises(av.error.HTTPUnauthorizedError):
        await asyncio.to_thread(first_frame_size, url)


async def test_with_a_video_file_onvif_reports_what_rtsp_serves() -> None:
    video = PEOPLE_VIDEO
    if not video.exists():
        pytest.skip(f"{video} is not here")
    config = SimulatorConfig(
        cameras=default_cameras(1), host="127.0.0.7", onvif_port_base=0, rtsp_port=0, video=video
    )
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    try:
        camera = simulator.cameras()[0]
        assert (camera.codec, camera.resolution, camera.fps) == ("h264", "1280x720", 25)
        port = int(camera.onvif_url.split(":")[2].split("/")[0])
        async with onvif_client(config.host, port, config.username, config.password) as client:
            await client.update_xaddrs()
            media = await client.create_media_service()
            profile, sub = await media.GetProfiles()
        resolution = profile.VideoEncoderConfiguration.Resolution
        assert (resolution.Width, resolution.Height) == (1280, 720)
        # The sub stream is the file scaled to 640 wide, whatever size the camera was configured with.
        sub_size = sub.VideoEncoderConfiguration.Resolution
        assert (sub_size.Width, sub_size.Height) == (640, 360)
        url = camera.rtsp_url.replace("rtsp://", f"rtsp://{config.username}:{config.password}@")
        assert await asyncio.to_thread(first_frame_size, url) == (1280, 720)
    finally:
        await simulator.stop()
