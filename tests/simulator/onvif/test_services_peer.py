"""onvif-zeep-async, an independent ONVIF client, reads the simulated cameras and NVR like real devices."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import av
import pytest
import zeep.exceptions

from tests.simulator.onvif.peers import (
    ACTION_NOT_SUPPORTED,
    NOT_AUTHORIZED,
    onvif_client,
    onvif_datetime,
    serving,
    stream_setup,
)
from vtrack.simulator.config import SimulatorConfig, default_cameras

TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
PROFILE_G = {
    "http://www.onvif.org/ver10/recording/wsdl",
    "http://www.onvif.org/ver10/search/wsdl",
    "http://www.onvif.org/ver10/replay/wsdl",
}
EXPECTED = [
    ("Front Door Camera", 1920, 1080, "H264"),
    ("Parking Lot Camera", 1280, 720, "H265"),
    ("Warehouse Camera", 800, 600, "MPEG4"),
]


async def test_three_default_cameras_read_by_onvif_zeep_async() -> None:
    config = SimulatorConfig(cameras=default_cameras(3), host="127.0.0.2", onvif_port_base=0)
    async with asyncio.timeout(20), serving(config) as server:
        assert len({device.port for device in server.devices}) == 3
        for device, (name, width, height, encoding) in zip(server.devices, EXPECTED, strict=True):
            camera_spec = device.primary
            async with onvif_client(config.host, device.port, config.username, config.password) as camera:
                await camera.update_xaddrs()
                assert set(camera.xaddrs) == {TDS, TRT}  # a plain camera offers no Profile G
                assert camera.xaddrs[TRT] == f"http://127.0.0.2:{device.port}/onvif/media_service"

                devicemgmt = await camera.create_devicemgmt_service()
                info = await devicemgmt.GetDeviceInformation()
                assert (info.Manufacturer, info.Model) == ("vtrack", "SimCam")
                assert info.SerialNumber == camera_spec.serial

                media = await camera.create_media_service()
                profiles = await media.GetProfiles()
                assert [p.token for p in profiles] == [camera_spec.token, f"{camera_spec.token}_sub"]
                profile = profiles[0]
                encoder = profile.VideoEncoderConfiguration
                assert profile.Name == name
                assert (encoder.Resolution.Width, encoder.Resolution.Height) == (width, height)
                assert encoder.Encoding == encoding
                assert encoder.RateControl.FrameRateLimit == camera_spec.fps
                bounds = profile.VideoSourceConfiguration.Bounds
                assert (bounds.width, bounds.height) == (width, height)

                encoders = await media.GetVideoEncoderConfigurations()
                assert [e.Encoding for e in encoders] == [encoding, "H264"]

                sub = profiles[1]
                assert sub.Name == f"{name} sub"
                sub_size = sub.VideoEncoderConfiguration.Resolution
                assert sub_size.Width == 640 and sub_size.Height == round(640 * height / width / 2) * 2
                assert sub.VideoSourceConfiguration.token == profile.VideoSourceConfiguration.token
                sub_uri = await media.GetStreamUri({"StreamSetup": stream_setup(), "ProfileToken": sub.token})
                assert sub_uri.Uri == f"rtsp://127.0.0.2:8554/live/{camera_spec.channel}/sub"

                uri = await media.GetStreamUri({"StreamSetup": stream_setup(), "ProfileToken": profile.token})
                assert (
                    uri.Uri
                    == config.rtsp_url(camera_spec)
                    == f"rtsp://127.0.0.2:8554/live/{camera_spec.channel}"
                )

                snapshot_uri = await camera.get_snapshot_uri(profile.token)
                assert (
                    snapshot_uri
                    == f"http://127.0.0.2:{device.port}/snapshot.jpg?channel={camera_spec.channel}"
                )
                jpeg = await camera.get_snapshot(
                    profile.token
                )  # the peer answers the Digest challenge itself
                assert jpeg is not None
                with av.open(io.BytesIO(jpeg)) as container:
                    frame = next(container.decode(video=0))
                assert (frame.width, frame.height) == (width, height)


async def test_device_service_identity_clock_scopes_and_interfaces() -> None:
    config = SimulatorConfig(cameras=default_cameras(1), host="127.0.0.2", onvif_port_base=0)
    async with asyncio.timeout(10), serving(config) as server:
        port = server.devices[0].port
        async with onvif_client(config.host, port, config.username, config.password) as camera:
            devicemgmt = await camera.create_devicemgmt_service()
            clock = (await devicemgmt.authless_GetSystemDateAndTime()).UTCDateTime
            reported = onvif_datetime(clock)
            assert abs(reported - datetime.now(UTC)) < timedelta(seconds=5)

            scopes = [scope.ScopeItem for scope in await devicemgmt.GetScopes()]
            assert "onvif://www.onvif.org/name/Front%20Door%20Camera" in scopes
            assert "onvif://www.onvif.org/hardware/SimCam" in scopes
            assert "onvif://www.onvif.org/location/lab" in scopes
            assert "onvif://www.onvif.org/Profile/Streaming" in scopes

            interfaces = await devicemgmt.GetNetworkInterfaces()
            assert interfaces[0].IPv4.Config.Manual[0].Address == "127.0.0.2"

            capabilities = await camera.get_capabilities()
            assert capabilities["Media"]["XAddr"] == f"http://127.0.0.2:{port}/onvif/media_service"
            assert capabilities["Extension"] is None  # no Profile G on a plain camera

            with_caps = await devicemgmt.GetServices({"IncludeCapability": True})
            assert {service.Namespace for service in with_caps} == {TDS, TRT}


async def test_subnet_of_loopback_addresses_on_one_port() -> None:
    """Issue point 7: each 127.0.0.x is its own device, even on the same port number."""
    first = SimulatorConfig(cameras=default_cameras(1), host="127.0.0.2", onvif_port_base=0)
    async with asyncio.timeout(10), serving(first) as server_a:
        port = server_a.devices[0].port
        parking = default_cameras(2)[1:]
        second = SimulatorConfig(cameras=parking, host="127.0.0.3", onvif_port_base=port - 1)
        async with serving(second) as server_b:
            assert server_b.devices[0].port == port
            names = []
            for host in ("127.0.0.2", "127.0.0.3"):
                async with onvif_client(host, port, "admin", "admin123") as camera:
                    await camera.update_xaddrs()
                    assert camera.xaddrs[TRT].startswith(f"http://{host}:{port}/")
                    media = await camera.create_media_service()
                    names.append((await media.GetProfiles())[0].Name)
            assert names == ["Front Door Camera", "Parking Lot Camera"]


async def test_wrong_password_is_a_not_authorized_fault() -> None:
    config = SimulatorConfig(cameras=default_cameras(1), host="127.0.0.2", onvif_port_base=0)
    async with asyncio.timeout(10), serving(config) as server:
        port = server.devices[0].port
        async with onvif_client(config.host, port, config.username, "not-the-password") as camera:
            await camera.update_xaddrs()  # GetServices is PRE_AUTH: it works without valid credentials
            devicemgmt = await camera.create_devicemgmt_service()
            with pytest.raises(zeep.exceptions.Fault) as fault:
                await devicemgmt.GetDeviceInformation()
            assert NOT_AUTHORIZED in fault.value.subcodes
            media = await camera.create_media_service()
            with pytest.raises(zeep.exceptions.Fault):
                await media.GetProfiles()
        # PasswordText (encrypt=False) is accepted too, as cameras do.
        async with onvif_client(config.host, port, config.username, config.password, encrypt=False) as camera:
            devicemgmt = await camera.create_devicemgmt_service()
            assert (await devicemgmt.GetDeviceInformation()).Model == "SimCam"


async def test_unimplemented_action_is_action_not_supported() -> None:
    config = SimulatorConfig(cameras=default_cameras(1), host="127.0.0.2", onvif_port_base=0)
    async with asyncio.timeout(10), serving(config) as server:
        port = server.devices[0].port
        async with onvif_client(config.host, port, config.username, config.password) as camera:
            devicemgmt = await camera.create_devicemgmt_service()
            with pytest.raises(zeep.exceptions.Fault) as fault:
                await devicemgmt.SystemReboot()
            assert ACTION_NOT_SUPPORTED in fault.value.subcodes
            # Profile G endpoints exist on every port but a camera answers them like an unknown action.
            camera.xaddrs["http://www.onvif.org/ver10/recording/wsdl"] = (
                f"http://127.0.0.2:{port}/onvif/recording_service"
            )
            recording = await camera.create_recording_service()
            with pytest.raises(zeep.exceptions.Fault) as fault:
                await recording.GetRecordings()
            assert ACTION_NOT_SUPPORTED in fault.value.subcodes


async def test_nvr_profile_g_recordings_search_and_replay() -> None:
    config = SimulatorConfig(cameras=default_cameras(3), host="127.0.0.2", onvif_port_base=0, nvr=True)
    async with asyncio.timeout(15), serving(config) as server:
        assert len(server.devices) == 1
        nvr = server.devices[0]
        async with onvif_client(config.host, nvr.port, config.username, config.password) as camera:
            await camera.update_xaddrs()
            assert PROFILE_G <= set(camera.xaddrs)

            media = await camera.create_media_service()
            profiles = await media.GetProfiles()
            assert [(p.token, p.Name) for p in profiles] == [
                ("profile_1", "Front Door Camera"),
                ("profile_1_sub", "Front Door Camera sub"),
                ("profile_2", "Parking Lot Camera"),
                ("profile_2_sub", "Parking Lot Camera sub"),
                ("profile_3", "Warehouse Camera"),
                ("profile_3_sub", "Warehouse Camera sub"),
            ]
            uri = await media.GetStreamUri({"StreamSetup": stream_setup(), "ProfileToken": "profile_2"})
            assert uri.Uri == "rtsp://127.0.0.2:8554/live/2"

            recording = await camera.create_recording_service()
            items = await recording.GetRecordings()
            tokens = [item.RecordingToken for item in items]
            assert tokens == ["recording_1", "recording_2", "recording_3"]
            assert items[0].Configuration.Source.Name == "Front Door Camera"
            assert items[0].Tracks.Track[0].Configuration.TrackType == "Video"

            search = await camera.create_search_service()
            summary = await search.GetRecordingSummary()
            assert summary.NumberRecordings == 3
            span = summary.DataUntil - summary.DataFrom
            assert span == timedelta(days=7)
            assert abs(summary.DataUntil - datetime.now(UTC)) < timedelta(seconds=5)

            token = await search.FindRecordings({"Scope": {}, "KeepAliveTime": timedelta(seconds=10)})
            first = await search.GetRecordingSearchResults({"SearchToken": token, "MaxResults": 2})
            assert first.SearchState == "Searching"
            assert [r.RecordingToken for r in first.RecordingInformation] == ["recording_1", "recording_2"]
            track = first.RecordingInformation[0].Track[0]
            assert track.DataTo - track.DataFrom == timedelta(days=7)
            rest = await search.GetRecordingSearchResults({"SearchToken": token, "MaxResults": 2})
            assert rest.SearchState == "Completed"
            assert [r.RecordingToken for r in rest.RecordingInformation] == ["recording_3"]
            ended = await search.EndSearch({"SearchToken": token})
            assert abs(ended - datetime.now(UTC)) < timedelta(seconds=5)
            with pytest.raises(zeep.exceptions.Fault):
                await search.GetRecordingSearchResults({"SearchToken": token})

            scoped = await search.FindRecordings(
                {"Scope": {"IncludedRecordings": ["recording_3"]}, "KeepAliveTime": timedelta(seconds=10)}
            )
            only = await search.GetRecordingSearchResults({"SearchToken": scoped})
            assert [r.RecordingToken for r in only.RecordingInformation] == ["recording_3"]
            await search.EndSearch({"SearchToken": scoped})

            replay = await camera.create_replay_service()
            replay_uri = await replay.GetReplayUri(
                {"StreamSetup": stream_setup(), "RecordingToken": "recording_2"}
            )
            assert replay_uri == "rtsp://127.0.0.2:8554/replay/2"
            with pytest.raises(zeep.exceptions.Fault):
                await replay.GetReplayUri({"StreamSetup": stream_setup(), "RecordingToken": "recording_9"})
