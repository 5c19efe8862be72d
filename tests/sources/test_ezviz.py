"""The Ezviz connector over real HTTP against the loopback Ezviz Open API fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.fakes.ezviz import FakeEzviz
from vtrack.devices.errors import DeviceError
from vtrack.sources.base import Connector, FolderBrowser, RateLimit, RemoteFile, is_video
from vtrack.sources.ezviz import DEFAULT_URLS, EzvizConnector

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CHINA = timezone(timedelta(hours=8))


class QuickEzviz(EzvizConnector):
    """The real connector, paced for a loopback fake."""

    rate_limit = RateLimit(requests_per_second=500.0, concurrent_downloads=2)


@pytest.fixture
async def fake() -> AsyncIterator[FakeEzviz]:
    async with FakeEzviz(zone=CHINA) as server:
        server.add_device("C0001", "Hall", {"1": "Hall cam"})
        server.add_device("C0002", "NVR", {"1": "Drive", "2": "Back"})
        server.add_device("C0003", "Shop")
        yield server


def connector(fake: FakeEzviz, secret: str | None = None, **kw: Any) -> EzvizConnector:
    clock: Callable[[], datetime] = kw.pop("now", lambda: NOW)
    waits: list[float] = kw.pop("waits", [])

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    key = kw.pop("app_key", fake.app_key)
    made = QuickEzviz(
        key, secret or fake.app_secret, urls=fake.urls, zone=CHINA, now=clock, sleep=sleep, **kw
    )
    made.device_page_size = 2
    made.record_page_size = 2
    return made


async def read(source: Connector, file: RemoteFile, offset: int = 0) -> bytes:
    return b"".join([chunk async for chunk in source.open(file, offset)])


def test_defaults() -> None:
    assert DEFAULT_URLS == {"api": "https://open.ys7.com"}
    assert EzvizConnector.rate_limit.requests_per_second <= 10


async def test_lists_every_channel_in_pages_then_only_what_is_new(fake: FakeEzviz) -> None:
    begin = NOW - timedelta(hours=4)
    for n in range(5):
        fake.add_record("C0002", "2", begin + timedelta(minutes=7 * n))
    fake.add_record("C0003", "1", begin + timedelta(minutes=1))
    fake.add_record("C0001", "1", NOW - timedelta(days=3))  # before the lookback
    source = connector(fake)
    files: list[RemoteFile] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await source.changes(cursor, page_size=4)
        files, cursor, pages = files + page.files, page.cursor, pages + 1
        if not page.has_more:
            break
    assert pages == 2 and len(files) == 6 and len({f.id for f in files}) == 6
    assert sum(1 for _, path in fake.calls if path == "video/by/time") >= 3 * 2  # nextFileTime pages
    back = sorted(f.path for f in files if f.path.startswith("NVR/ch2/"))
    assert back[0] == "NVR/ch2/2026-11-20/080000-080003.ts"
    assert all(
        f.size == 0 and f.content_type == "video/mp2t" and is_video(f.path, f.content_type) for f in files
    )
    assert files[0].id.startswith("ezviz:") and files[0].modified.tzinfo is not None

    assert cursor is not None
    assert (await source.changes(cursor)).files == []
    fake.add_record("C0001", "1", NOW - timedelta(minutes=20))
    later = await source.changes(cursor)
    assert [f.path for f in later.files] == ["Hall/ch1/2026-11-20/114000-114003.ts"]
    await source.close()


async def test_reads_a_recording_whole_and_from_an_offset(fake: FakeEzviz) -> None:
    record = fake.add_record("C0002", "1", NOW - timedelta(hours=1))
    source = connector(fake, device_ids=["C0002:1"])
    [file] = (await source.changes(None)).files
    whole = b"".join(record.segments)
    assert await read(source, file) == whole
    offset = len(whole) - len(record.segments[-1]) // 2
    assert await read(source, file, offset) == whole[offset:]
    await source.close()


async def test_an_encrypted_device_is_named(fake: FakeEzviz) -> None:
    fake.add_device("C0009", "Locked", encrypted=True)
    fake.add_record("C0009", "1", NOW - timedelta(hours=1))
    source = connector(fake, device_ids=["C0009"])
    [file] = (await source.changes(None)).files
    with pytest.raises(DeviceError) as locked:
        await read(source, file)
    assert (
        locked.value.kind == "protocol"
        and "60019" in locked.value.message
        and "encryption" in locked.value.message
    )


async def test_an_expired_token_is_fetched_again_once_for_concurrent_calls(fake: FakeEzviz) -> None:
    source = connector(fake)
    assert "3 devices" in await source.account()
    fake.expire_tokens()
    folders = await asyncio.gather(*(source.list_folders("C0002") for _ in range(5)))
    assert all([f.id for f in found] == ["C0002:1", "C0002:2"] for found in folders)
    assert fake.token_requests == 2 and source.tokens.fetches == 2
    await source.close()


async def test_too_frequent_and_429_are_waited_out(fake: FakeEzviz) -> None:
    waits: list[float] = []
    source = connector(fake, waits=waits)
    await source.account()
    fake.throttle(2)
    assert len(await source.list_folders(None)) == 3
    assert source.http.throttled == 2 and len(waits) == 2
    fake.throttle_http(1, retry_after=0)
    assert len(await source.list_folders(None)) == 3
    assert source.http.throttled == 3
    await source.close()


async def test_endless_throttling_gives_up_as_throttled(fake: FakeEzviz) -> None:
    source = connector(fake)
    await source.account()
    fake.throttle(100)
    with pytest.raises(DeviceError) as gave_up:
        await source.list_folders(None)
    assert gave_up.value.kind == "throttled"


@pytest.mark.parametrize(
    ("key", "secret", "code"), [("ezviz-test-key", "wrong", "10030"), ("other", None, "10017")]
)
async def test_refused_keys_are_auth_errors(fake: FakeEzviz, key: str, secret: str | None, code: str) -> None:
    with pytest.raises(DeviceError) as refused:
        await connector(fake, secret, app_key=key).account()
    assert refused.value.kind == "auth" and code in refused.value.message


async def test_calls_go_to_the_region_the_token_names() -> None:
    async with FakeEzviz(regional=True, zone=CHINA) as fake:
        fake.add_device("C0001", "Hall")
        fake.add_record("C0001", "1", NOW - timedelta(hours=1))
        source = connector(fake)
        [file] = (await source.changes(None)).files
        assert len(await read(source, file)) > 0
        hosts = {host.partition(":")[0] for host, path in fake.calls if path != "token/get"}
        assert hosts == {"127.0.0.2"} and source.area == fake.area_domain
        await source.close()


async def test_folders_are_devices_then_their_channels(fake: FakeEzviz) -> None:
    source: FolderBrowser = connector(fake)
    assert [(f.id, f.name) for f in await source.list_folders(None)] == [
        ("C0001", "Hall"),
        ("C0002", "NVR"),
        ("C0003", "Shop"),
    ]
    channels = await source.list_folders("C0002")
    assert [(f.id, f.path, f.has_children) for f in channels] == [
        ("C0002:1", "NVR/Drive", False),
        ("C0002:2", "NVR/Back", False),
    ]
    assert await source.list_folders("C0002:2") == []
