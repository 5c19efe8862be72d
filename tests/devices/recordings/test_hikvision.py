"""ISAPI recording search and download on the simulator's Hikvision NVR persona."""

from __future__ import annotations

import io
from datetime import UTC, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import av
import pytest

from tests.devices.recordings import WRONG, access, hour_window, watched_client
from tests.devices.vendor_site import PASSWORD, USER, base_url, vendor_site
from vtrack.devices import hikvision_recordings
from vtrack.devices.errors import DeviceError
from vtrack.devices.hikvision import HikvisionClient
from vtrack.devices.recordings import download_http, search_recordings, sniff_container
from vtrack.simulator.personas.archive import segment_size

TEN_MINUTES = timedelta(minutes=10)


@pytest.mark.parametrize("channel", [1, 2])
async def test_an_hour_of_a_channel_is_six_files_with_sizes_and_ids(channel: int) -> None:
    start, end = hour_window()
    async with vendor_site("hikvision", nvr=True) as site, watched_client() as (http, _):
        segments = await search_recordings(http, access(site, "hikvision"), channel, start, end)
        base = base_url(site)
    assert [(s.start, s.end) for s in segments] == [
        (start + i * TEN_MINUTES, start + (i + 1) * TEN_MINUTES) for i in range(6)
    ]
    for segment in segments:
        assert segment.channel == channel and segment.kind == "http"
        assert segment.size_bytes == segment_size(channel, segment.start)
        assert segment.remote_id.startswith(f"/Streaming/tracks/{channel}01/?starttime=")
        assert f"size={segment.size_bytes}" in segment.remote_id
        url = urlsplit(segment.url)
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"{base}/ISAPI/ContentMgmt/download"
        playback = parse_qs(url.query)["playbackURI"][0]
        assert playback.startswith("rtsp://") and playback.endswith(segment.remote_id)
        assert PASSWORD not in segment.url


async def test_files_sticking_out_of_the_window_keep_their_own_times() -> None:
    start, _ = hour_window()
    async with vendor_site("hikvision", nvr=True) as site, watched_client() as (http, _):
        segments = await search_recordings(
            http, access(site, "hikvision"), 1, start + timedelta(minutes=5), start + timedelta(minutes=15)
        )
    assert [(s.start, s.end) for s in segments] == [
        (start, start + TEN_MINUTES),
        (start + TEN_MINUTES, start + 2 * TEN_MINUTES),
    ]


async def test_results_are_paged_while_the_device_says_more() -> None:
    start, end = hour_window()
    async with vendor_site("hikvision", nvr=True) as site, watched_client() as (http, seen):
        client = HikvisionClient(http, base_url(site), USER, PASSWORD, timeout=5)
        matches = await hikvision_recordings.search(client, 1, start, end, UTC, page_size=4)
    assert len(matches) == 6 and len({m.playback_uri for m in matches}) == 6
    searches = [r for r in seen.requests if r.url.path == "/ISAPI/ContentMgmt/search"]
    positions = [
        body.split(b"<searchResultPostion>")[1].split(b"<")[0] for body in (r.content for r in searches)
    ]
    assert sorted(set(positions)) == [b"0", b"4"]  # the first page, then on from position 4
    ids = {body.split(b"<searchID>")[1].split(b"<")[0] for body in (r.content for r in searches)}
    assert len(ids) == 1


async def test_more_files_than_a_device_page_holds() -> None:
    start, _ = hour_window(hours_ago=20)
    async with vendor_site("hikvision", nvr=True) as site, watched_client() as (http, _):
        segments = await search_recordings(
            http, access(site, "hikvision"), 2, start, start + timedelta(hours=18)
        )
    assert len(segments) == 108  # over the device's cap of 100 a page


async def test_wrong_password_is_an_auth_error_without_a_storm() -> None:
    start, end = hour_window()
    async with vendor_site("hikvision", nvr=True) as site, watched_client() as (http, seen):
        with pytest.raises(DeviceError) as raised:
            await search_recordings(http, access(site, "hikvision", password=WRONG), 1, start, end)
    assert raised.value.kind == "auth"
    assert len(seen.requests) == 2  # the challenge, then one refused answer


async def test_download_gives_the_served_file_and_resumes_with_a_range(tmp_path: Path) -> None:
    start, end = hour_window()
    async with vendor_site("hikvision", nvr=True) as site, watched_client() as (http, seen):
        device = access(site, "hikvision")
        segment = (await search_recordings(http, device, 1, start, end))[0]
        whole = tmp_path / "whole.part"
        assert await download_http(http, device, segment, whole) == segment.size_bytes
        data = whole.read_bytes()

        cut = tmp_path / "cut.part"
        cut.write_bytes(data[: len(data) // 2])
        seen.requests.clear()
        seen.statuses.clear()
        reported: list[int] = []

        async def progress(done: int) -> None:
            reported.append(done)

        assert await download_http(http, device, segment, cut, progress=progress) == len(data)
    assert cut.read_bytes() == data
    assert seen.requests[-1].headers["Range"] == f"bytes={len(data) // 2}-"
    assert seen.statuses[-1] == 206
    assert reported[0] > len(data) // 2 and reported[-1] == len(data)
    # The simulator's stand-in for Hikvision's files is a real MP4 (H.264, the file's full 10 minutes).
    assert sniff_container(data[:512]) == "mp4"
    with av.open(io.BytesIO(data), "r") as container:
        assert "mp4" in container.format.name
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.duration is not None and round(container.duration / 1_000_000) == 600
