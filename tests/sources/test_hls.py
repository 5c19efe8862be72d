"""HLS recordings read back as one MPEG-TS stream: over real HTTP against the loopback HLS server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from tests.fakes.hls import FakeHls, make_ts_segments
from vtrack.devices.errors import DeviceError
from vtrack.media.remux import remux_file
from vtrack.sources.base import RateLimit
from vtrack.sources.hls import MasterPlaylist, MediaPlaylist, hls_bytes, parse_playlist
from vtrack.sources.http import CloudHttp


@pytest.fixture
async def hls() -> AsyncIterator[FakeHls]:
    async with FakeHls() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[CloudHttp]:
    client = CloudHttp("http://127.0.0.1", where="test HLS", rate=RateLimit(200.0, 2))
    yield client
    await client.close()


async def read(
    http: CloudHttp, url: str, offset: int = 0, sizes: dict[int, int] | None = None, **kw: object
) -> bytes:
    return b"".join([chunk async for chunk in hls_bytes(http, url, offset=offset, sizes=sizes, **kw)])  # type: ignore[arg-type]


def test_playlists_parse_relative_uris_keys_and_variants() -> None:
    media = parse_playlist(
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:41\n#EXTINF:4,\nseg/a.ts\n"
        '#EXT-X-KEY:METHOD=AES-128,URI="../k?x=1,2",IV=0x000102030405060708090A0B0C0D0E0F\n'
        "#EXTINF:4,\nhttps://cdn.example/b.ts\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:4,\n/c.ts\n#EXT-X-ENDLIST\n",
        "http://h/v/p/index.m3u8",
    )
    assert isinstance(media, MediaPlaylist) and media.ended and media.target_duration == 4
    assert [s.uri for s in media.segments] == [
        "http://h/v/p/seg/a.ts",
        "https://cdn.example/b.ts",
        "http://h/c.ts",
    ]
    assert [s.sequence for s in media.segments] == [41, 42, 43]
    key = media.segments[1].key
    assert key is not None and key.uri == "http://h/v/k?x=1,2" and key.iv == bytes(range(16))
    assert media.segments[0].key is None and media.segments[2].key is None
    master = parse_playlist(
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=10,CODECS="a,b"\nlo.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=90\nhi.m3u8\n',
        "http://h/m.m3u8",
    )
    assert isinstance(master, MasterPlaylist) and max(master.variants) == (90, "http://h/hi.m3u8")
    with pytest.raises(DeviceError) as refused:
        parse_playlist("<html>login</html>", "http://h/x.m3u8")
    assert refused.value.kind == "protocol"


async def test_the_segments_concatenate_into_a_ts_that_remuxes_to_a_playable_mp4(
    hls: FakeHls, http: CloudHttp, tmp_path: Path
) -> None:
    segments = make_ts_segments(seconds=3, fps=10, per_segment=1)
    assert len(segments) == 3
    data = await read(http, hls.publish(segments))
    assert data == b"".join(segments)
    source, dest = tmp_path / "rec.ts", tmp_path / "rec.mp4"
    source.write_bytes(data)
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    written = remux_file(source, dest, start=start)
    assert written.frames == 30 and written.codec == "H264"
    assert written.first == start and written.last == start + timedelta(seconds=2.9)
    with av.open(str(dest)) as mp4:
        assert mp4.duration is not None and abs(mp4.duration / 1_000_000 - 3.0) < 0.15
        assert sum(1 for _ in mp4.decode(video=0)) == 30


async def test_a_resumed_read_skips_known_segments_and_ranges_into_the_first(
    hls: FakeHls, http: CloudHttp
) -> None:
    segments = make_ts_segments()
    whole = b"".join(segments)
    url = hls.publish(segments)
    sizes: dict[int, int] = {}
    assert await read(http, url, sizes=sizes) == whole
    assert sizes == {-1: 3} | {i: len(s) for i, s in enumerate(segments)}
    offset = len(segments[0]) + len(segments[1]) + 100
    hls.requests.clear()
    assert await read(http, url, offset, sizes) == whole[offset:]
    fetched = [(m, f, r) for m, f, r in hls.requests if f.endswith(".ts")]
    assert fetched == [("GET", "seg2.ts", "bytes=100-")]  # seg0 and seg1 never asked for again


async def test_sizes_from_a_differently_cut_playlist_are_dropped(hls: FakeHls, http: CloudHttp) -> None:
    segments = make_ts_segments()
    whole = b"".join(segments)
    stale = {-1: 2, 0: 5, 1: 99999}  # another cut of the recording: trusting it would skip real bytes
    offset = len(segments[0]) + 10
    assert await read(http, hls.publish(segments), offset, stale) == whole[offset:]
    assert stale[-1] == 3 and stale[0] == len(segments[0])


async def test_a_fresh_read_from_an_offset_learns_sizes_by_head(hls: FakeHls, http: CloudHttp) -> None:
    segments = make_ts_segments()
    whole = b"".join(segments)
    url = hls.publish(segments)
    for offset in (0, 1, len(segments[0]), len(segments[0]) + 5, len(whole) - 1, len(whole)):
        hls.requests.clear()
        assert await read(http, url, offset) == whole[offset:], offset
        bodies = [f for m, f, _ in hls.requests if m == "GET" and f.endswith(".ts")]
        skipped = sum(1 for s in range(len(segments)) if sum(map(len, segments[: s + 1])) <= offset)
        assert bodies == [f"seg{i}.ts" for i in range(skipped, len(segments))], offset


async def test_a_server_that_ignores_range_is_sliced_locally(hls: FakeHls, http: CloudHttp) -> None:
    segments = make_ts_segments()
    whole = b"".join(segments)
    url = hls.publish(segments, ranges=False)
    offset = len(segments[0]) + 333
    assert await read(http, url, offset) == whole[offset:]


async def test_a_master_playlist_leads_to_the_highest_bandwidth(hls: FakeHls, http: CloudHttp) -> None:
    segments = make_ts_segments()
    assert await read(http, hls.publish(segments, master=True)) == b"".join(segments)
    assert ("GET", "junk.ts", "") not in hls.requests


@pytest.mark.parametrize("explicit_iv", [False, True])
async def test_aes_128_segments_are_decrypted_and_resume(
    hls: FakeHls, http: CloudHttp, explicit_iv: bool
) -> None:
    segments = make_ts_segments()
    whole = b"".join(segments)
    url = hls.publish(segments, encryption="AES-128", explicit_iv=explicit_iv)
    sizes: dict[int, int] = {}
    assert await read(http, url, sizes=sizes) == whole
    assert sizes == {-1: 3} | {i: len(s) for i, s in enumerate(segments)}  # plaintext, not padded sizes
    offset = len(segments[0]) + 17
    hls.requests.clear()
    assert await read(http, url, offset, sizes) == whole[offset:]
    assert [f for _, f, _ in hls.requests if f.endswith(".ts")] == ["seg1.ts", "seg2.ts"]


async def test_other_encryption_is_refused_clearly(hls: FakeHls, http: CloudHttp) -> None:
    with pytest.raises(DeviceError) as refused:
        await read(http, hls.publish(make_ts_segments(), encryption="SAMPLE-AES"))
    assert refused.value.kind == "protocol"
    assert "encrypted HLS is not supported" in refused.value.message and "SAMPLE-AES" in refused.value.message


async def test_an_unfinished_playlist_is_reloaded_until_it_ends(hls: FakeHls, http: CloudHttp) -> None:
    segments = make_ts_segments()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    assert await read(http, hls.publish(segments, grow=True), sleep=sleep) == b"".join(segments)
    assert len(waits) == len(segments) - 1  # one reload per segment that was not there yet


async def test_an_expired_playback_url_is_not_found(hls: FakeHls, http: CloudHttp) -> None:
    url = hls.publish(make_ts_segments())
    hls.server.forget_all()
    with pytest.raises(DeviceError) as gone:
        await read(http, url)
    assert gone.value.kind == "not_found"
