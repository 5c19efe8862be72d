"""mediaFileFind search and RPC_Loadfile download on the simulator's Dahua NVR persona."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.devices.recordings import WRONG, access, hour_window, watched_client
from tests.devices.vendor_site import PASSWORD, USER, base_url, vendor_site
from vtrack.devices import dahua_recordings
from vtrack.devices.dahua import DahuaClient
from vtrack.devices.errors import DeviceError
from vtrack.devices.recordings import download_http, search_recordings, sniff_container
from vtrack.simulator.personas.archive import segment_size

TEN_MINUTES = timedelta(minutes=10)


def actions(paths_and_queries: list[str]) -> list[str]:
    return [query.split("action=")[1].split("&")[0] for query in paths_and_queries if "action=" in query]


@pytest.mark.parametrize("channel", [1, 2])
async def test_an_hour_of_a_channel_is_six_dav_files(channel: int) -> None:
    start, end = hour_window()
    async with vendor_site("dahua", nvr=True) as site, watched_client() as (http, seen):
        segments = await search_recordings(http, access(site, "dahua"), channel, start, end)
        base = base_url(site)
    assert [(s.start, s.end) for s in segments] == [
        (start + i * TEN_MINUTES, start + (i + 1) * TEN_MINUTES) for i in range(6)
    ]
    for segment in segments:
        assert segment.channel == channel and segment.kind == "http" and segment.container == "dav"
        assert segment.size_bytes == segment_size(channel, segment.start)
        assert segment.remote_id.startswith(f"/mnt/dvr/{segment.start:%Y-%m-%d}/{channel - 1}/dav/")
        assert segment.remote_id.endswith(f"{segment.start:%H.%M.%S}-{segment.end:%H.%M.%S}[R][0@0][0].dav")
        assert segment.url == f"{base}/cgi-bin/RPC_Loadfile{segment.remote_id}"
    finder_calls = actions(
        [r.url.query.decode() for r in seen.requests if r.url.path.endswith("mediaFileFind.cgi")]
    )
    # Every finder is freed: firmware keeps only a few.
    assert finder_calls[-2:] == ["close", "destroy"]


async def test_results_are_paged_and_the_finder_freed() -> None:
    start, end = hour_window()
    async with vendor_site("dahua", nvr=True) as site, watched_client() as (http, seen):
        client = DahuaClient(http, base_url(site), USER, PASSWORD, timeout=5)
        files = await dahua_recordings.find_files(client, 2, start, end, UTC, page_size=4)
    assert [f.start for f in files] == [start + i * TEN_MINUTES for i in range(6)]
    assert all(f.channel == 2 and f.type == "dav" for f in files)
    calls = actions([unquote(r.url.query.decode()) for r in seen.requests])
    assert calls.count("findNextFile") >= 2 and calls[-2:] == ["close", "destroy"]


async def test_device_local_times_are_converted_with_the_configured_zone() -> None:
    """The zone given is the device's: UTC times go out as its local time and come back converted."""
    start, end = hour_window(hours_ago=10)  # the simulated device is on UTC: its files are 7 h "later"
    async with vendor_site("dahua", nvr=True) as site, watched_client() as (http, seen):
        segments = await search_recordings(
            http, access(site, "dahua", zone="Asia/Ho_Chi_Minh"), 1, start, end
        )
    assert [s.start for s in segments] == [start + i * TEN_MINUTES for i in range(6)]
    find = next(
        unquote(r.url.query.decode()) for r in seen.requests if "action=findFile" in r.url.query.decode()
    )
    assert f"condition.StartTime={start + timedelta(hours=7):%Y-%m-%d %H:%M:%S}" in find
    # The simulated device keeps UTC, so its files are those seven hours later, named in its time.
    assert segments[0].remote_id.split("/")[-1].startswith(f"{start + timedelta(hours=7):%H.%M.%S}-")


async def test_without_a_zone_the_offset_comes_from_the_device_clock() -> None:
    async with vendor_site("dahua", nvr=True) as site, watched_client() as (http, _):
        client = DahuaClient(http, base_url(site), USER, PASSWORD, timeout=5)
        zone = await dahua_recordings.estimated_zone(client)
    assert zone.utcoffset(None) == timedelta(0)


async def test_wrong_password_is_an_auth_error_without_a_storm() -> None:
    start, end = hour_window()
    async with vendor_site("dahua", nvr=True) as site, watched_client() as (http, seen):
        with pytest.raises(DeviceError) as raised:
            await search_recordings(http, access(site, "dahua", password=WRONG), 1, start, end)
    assert raised.value.kind == "auth"
    assert len(seen.requests) == 2
    assert WRONG not in str(raised.value)


async def test_dav_download_is_what_the_device_serves_and_resumes(tmp_path: Path) -> None:
    start, end = hour_window()
    async with vendor_site("dahua", nvr=True) as site, watched_client() as (http, seen):
        device = access(site, "dahua", zone="UTC")
        segment = (await search_recordings(http, device, 2, start, end))[-1]
        whole = tmp_path / "whole.part"
        assert await download_http(http, device, segment, whole) == segment.size_bytes
        data = whole.read_bytes()

        # A download killed after its first chunk keeps that chunk; the next call continues from it.
        class Killed(Exception):
            pass

        async def kill(done: int) -> None:
            raise Killed

        cut = tmp_path / "cut.part"
        with pytest.raises(Killed):
            await download_http(http, device, segment, cut, progress=kill)
        held = cut.stat().st_size
        assert 0 < held < len(data)
        seen.requests.clear()
        seen.statuses.clear()
        assert await download_http(http, device, segment, cut) == len(data)
    assert cut.read_bytes() == data
    assert seen.requests[-1].headers["Range"] == f"bytes={held}-"
    assert seen.statuses[-1] == 206
    # Named .dav and found as Type=dav, but the simulator's bytes are an MP4 stand-in, not Dahua's DAV.
    assert sniff_container(data[:512]) == "mp4"
