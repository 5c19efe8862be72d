"""Profile G search on the simulator's ONVIF NVR: channel to recording, paging, slices, replay URIs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.devices.recordings import WRONG, access, hour_window, watched_client
from tests.devices.vendor_site import HOST, PASSWORD, USER, device_port, vendor_site
from vtrack.devices.errors import DeviceError
from vtrack.devices.onvif.client import OnvifClient
from vtrack.devices.onvif.recordings import ProfileG
from vtrack.devices.recordings import ONVIF_SLICE, search_recordings


@pytest.mark.parametrize("channel", [1, 2])
async def test_an_hour_of_a_channel_is_six_replay_slices(channel: int) -> None:
    start, end = hour_window()
    async with vendor_site("onvif", nvr=True) as site, watched_client() as (http, _):
        segments = await search_recordings(http, access(site, "onvif"), channel, start, end)
    assert [(s.start, s.end) for s in segments] == [
        (start + i * ONVIF_SLICE, start + (i + 1) * ONVIF_SLICE) for i in range(6)
    ]
    for segment in segments:
        assert segment.channel == channel
        assert segment.kind == "onvif_replay"
        assert segment.remote_id == f"recording_{channel}@{segment.start:%Y%m%dT%H%M%SZ}"
        assert segment.url == f"rtsp://{HOST}:{site.rtsp.port}/replay/{channel}"
        assert segment.size_bytes is None and segment.container is None


async def test_a_window_off_the_grid_is_clipped_and_the_open_slice_left_out() -> None:
    now = datetime.now(UTC)
    start = now - timedelta(minutes=47, seconds=13)
    async with vendor_site("onvif", nvr=True) as site, watched_client() as (http, _):
        segments = await search_recordings(http, access(site, "onvif"), 1, start, now + timedelta(hours=1))
    assert segments[0].start == start
    # Slices join without gaps or overlaps, each inside one 10-minute cell of the grid.
    for before, after in zip(segments, segments[1:], strict=False):
        assert before.end == after.start
    for segment in segments[1:]:
        assert int(segment.start.timestamp()) % int(ONVIF_SLICE.total_seconds()) == 0
    # The recording is still running: the slice being written now is not listed yet.
    epoch = int(now.timestamp())
    assert segments[-1].end == datetime.fromtimestamp(epoch - epoch % 600, UTC)


async def test_search_results_are_paged_until_completed_and_the_search_ended() -> None:
    async with vendor_site("onvif", nvr=True) as site, watched_client() as (http, seen):
        client = OnvifClient(http, HOST, device_port(site), username=USER, password=PASSWORD, timeout=5)
        await client.sync_clock()
        await client.discover_services()
        found = await ProfileG(client).find_recordings(None, page_size=1)
        open_searches = site.devices.devices[0].searches.open
    assert [info.token for info in found] == ["recording_1", "recording_2"]
    assert all(info.start and info.end and info.end - info.start == timedelta(days=7) for info in found)
    bodies = [request.content for request in seen.requests]
    assert sum(b"GetRecordingSearchResults" in body for body in bodies) == 2
    assert sum(b"EndSearch" in body for body in bodies) == 1
    assert open_searches == {}


async def test_wrong_password_is_an_auth_error_at_once() -> None:
    start, end = hour_window()
    async with vendor_site("onvif", nvr=True) as site, watched_client() as (http, seen):
        began = time.monotonic()
        with pytest.raises(DeviceError) as raised:
            await search_recordings(http, access(site, "onvif", password=WRONG), 1, start, end)
    assert raised.value.kind == "auth"
    assert time.monotonic() - began < 2
    assert len(seen.requests) <= 4  # clock, then one refused call (and its Digest retry): no storm
    assert WRONG not in str(raised.value)


async def test_a_channel_the_device_lacks_is_not_found() -> None:
    start, end = hour_window()
    async with vendor_site("onvif", nvr=True) as site, watched_client() as (http, _):
        with pytest.raises(DeviceError) as raised:
            await search_recordings(http, access(site, "onvif"), 3, start, end)
    assert raised.value.kind == "not_found"


async def test_addresses_advertised_behind_nat_are_rewritten_to_the_host_reached() -> None:
    start, end = hour_window()
    async with vendor_site("onvif", nvr=True) as site, watched_client() as (http, seen):
        site.config.cameras[0].faults.wrong_xaddrs = True  # the NVR's switches are channel 1's
        segments = await search_recordings(http, access(site, "onvif"), 2, start, end)
    assert len(segments) == 6
    assert all(s.url == f"rtsp://{HOST}:{site.rtsp.port}/replay/2" for s in segments)
    assert {r.url.host for r in seen.requests} == {HOST}
