"""The Imou connector over real HTTP against the loopback Imou Open API fake."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.fakes.imou import FakeImou
from vtrack.devices.errors import DeviceError
from vtrack.sources.base import Connector, FolderBrowser, RateLimit, RemoteFile, is_video
from vtrack.sources.camera_cloud import AppTokens
from vtrack.sources.imou import DEFAULT_URLS, ImouConnector, sign

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CHINA = timezone(timedelta(hours=8))


@pytest.fixture
async def fake() -> AsyncIterator[FakeImou]:
    async with FakeImou(zone=CHINA) as server:
        server.add_device("SN0001", "Front door", {"0": "Door"})
        server.add_device("SN0002", "Yard", {"0": "Gate", "1": "Shed"})
        server.add_device("SN0003", "Garage/left")
        yield server


class QuickImou(ImouConnector):
    """The real connector, paced for a loopback fake instead of Imou's quota."""

    rate_limit = RateLimit(requests_per_second=500.0, concurrent_downloads=2)


def connector(fake: FakeImou, secret: str | None = None, **kw: Any) -> ImouConnector:
    clock: Callable[[], datetime] = kw.pop("now", lambda: NOW)
    made = QuickImou(
        kw.pop("app_id", fake.app_id),
        secret or fake.app_secret,
        urls=fake.urls,
        zone=CHINA,
        now=clock,
        **kw,
    )
    made.device_page_size = 2
    made.record_page_size = 2
    return made


async def read(source: Connector, file: RemoteFile, offset: int = 0) -> bytes:
    return b"".join([chunk async for chunk in source.open(file, offset)])


async def everything(
    source: Connector, cursor: str | None, page_size: int
) -> tuple[list[RemoteFile], str, int]:
    files: list[RemoteFile] = []
    pages = 0
    while True:
        page = await source.changes(cursor, page_size=page_size)
        files += page.files
        cursor, pages = page.cursor, pages + 1
        if not page.has_more:
            return files, cursor, pages


def test_the_declared_rate_is_gentle() -> None:
    assert ImouConnector.rate_limit.requests_per_second <= 5


def test_the_signature_is_the_documented_md5() -> None:
    assert (
        sign(1599031074, "abc", "s3cret")
        == hashlib.md5(b"time:1599031074,nonce:abc,appSecret:s3cret", usedforsecurity=False).hexdigest()
    )
    assert DEFAULT_URLS["api"].startswith("https://")


async def test_lists_every_channel_in_pages_then_only_what_is_new(fake: FakeImou) -> None:
    begin = NOW - timedelta(hours=3)
    for n in range(5):
        fake.add_record("SN0002", "1", begin + timedelta(minutes=10 * n))
    fake.add_record("SN0001", "0", begin + timedelta(minutes=5))
    fake.add_record("SN0003", "0", NOW - timedelta(days=2))  # older than the lookback
    source = connector(fake)
    files, cursor, pages = await everything(source, None, page_size=2)
    assert pages == 3 and len(files) == 6 and len({f.id for f in files}) == 6
    assert [f.modified for f in files] == sorted(f.modified for f in files)
    shed = [f for f in files if f.path.startswith("Yard/ch1/")]
    assert shed[0].path == "Yard/ch1/2026-11-20/090000-090003.ts"  # UTC, though the API speaks UTC+8
    assert shed[0].id == f"imou:SN0002:1:{int(begin.timestamp())}:{int(begin.timestamp()) + 3}"
    assert shed[0].modified == begin + timedelta(seconds=3) and shed[0].modified.tzinfo is not None
    assert all(f.size == fake.records[0].size and f.content_type == "video/mp2t" for f in files)
    assert all(is_video(f.path, f.content_type) for f in files)
    assert len(cursor) < 4000

    again = await source.changes(cursor)
    assert again.files == [] and not again.has_more

    fake.add_record("SN0001", "0", NOW - timedelta(minutes=30))
    later = await source.changes(cursor)
    assert [f.path for f in later.files] == ["Front door/ch0/2026-11-20/113000-113003.ts"]
    await source.close()


async def test_a_quiet_channel_keeps_its_start_and_a_late_upload_is_found(fake: FakeImou) -> None:
    clock = [NOW]
    source = connector(fake, now=lambda: clock[0])
    first = await source.changes(None)
    assert first.files == []
    fake.add_record("SN0001", "0", NOW - timedelta(hours=2))  # recorded before, uploaded after the sync
    clock[0] = NOW + timedelta(days=3)
    late = await source.changes(first.cursor)
    assert [f.path for f in late.files] == ["Front door/ch0/2026-11-20/100000-100003.ts"]
    await source.close()


async def test_a_recording_across_midnight_is_listed_once(fake: FakeImou) -> None:
    midnight_china = datetime(2026, 11, 20, 0, 0, tzinfo=CHINA)
    fake.add_record("SN0001", "0", midnight_china - timedelta(seconds=1), seconds=3)
    files, _, _ = await everything(connector(fake), None, page_size=10)
    assert [f.path for f in files] == ["Front door/ch0/2026-11-19/155959-160002.ts"]


async def test_ids_do_not_depend_on_the_device_name(fake: FakeImou) -> None:
    fake.add_record("SN0001", "0", NOW - timedelta(hours=1))
    [before] = (await connector(fake).changes(None)).files
    fake.devices["SN0001"].name = "Porch"
    [after] = (await connector(fake).changes(None)).files
    assert after.id == before.id and after.path == before.path.replace("Front door", "Porch")


async def test_device_ids_select_devices_or_single_channels(fake: FakeImou) -> None:
    for serial, channel in [("SN0001", "0"), ("SN0002", "0"), ("SN0002", "1")]:
        fake.add_record(serial, channel, NOW - timedelta(hours=1))
    whole_device = await connector(fake, device_ids=["SN0002"]).changes(None)
    assert sorted(f.path.split("/")[1] for f in whole_device.files) == ["ch0", "ch1"]
    one_channel = await connector(fake, device_ids=["SN0002:1", "SN0001"]).changes(None)
    assert sorted(f.path.rsplit("/", 2)[0] for f in one_channel.files) == ["Front door/ch0", "Yard/ch1"]


async def test_reads_a_recording_whole_and_from_an_offset(fake: FakeImou) -> None:
    record = fake.add_record("SN0002", "0", NOW - timedelta(hours=1))
    source = connector(fake)
    [file] = (await source.changes(None)).files
    whole = b"".join(record.segments)
    assert await read(source, file) == whole
    offset = len(record.segments[0]) + 1000
    assert await read(source, file, offset) == whole[offset:]
    assert fake.calls.count("createDeviceRecordHls") == 2
    await source.close()


async def test_an_expired_token_is_fetched_again_once_for_concurrent_calls(fake: FakeImou) -> None:
    fake.add_record("SN0001", "0", NOW - timedelta(hours=1))
    source = connector(fake)
    assert "3 devices" in await source.account()
    assert fake.token_requests == 1
    fake.expire_tokens()
    folders, page = await asyncio.gather(
        asyncio.gather(*(source.list_folders(None) for _ in range(4))), source.changes(None)
    )
    assert [len(f) for f in folders] == [3, 3, 3, 3] and len(page.files) == 1
    assert fake.token_requests == 2 and source.tokens.fetches == 2
    assert fake.refused.count("TK1002") >= 2
    await source.refresh()
    assert fake.token_requests == 2  # still fresh: refresh() does not fetch
    await source.close()


async def test_app_tokens_renew_before_they_expire_and_once_for_all() -> None:
    clock, fetched = [0.0], []

    async def fetch() -> tuple[str, float]:
        fetched.append(clock[0])
        await asyncio.sleep(0.01)
        return f"t{len(fetched)}", 100.0

    tokens = AppTokens(fetch, clock=lambda: clock[0])
    assert await asyncio.gather(*(tokens.current() for _ in range(5))) == ["t1"] * 5
    clock[0] = 89.0
    assert await tokens.current() == "t1"
    clock[0] = 91.0  # within the last tenth of its life: renewed before the provider refuses it
    assert await tokens.current() == "t2"
    assert await tokens.renew("t1") == "t2"  # a caller that saw the old token refused gets the new one
    assert await tokens.renew("t2") == "t3" and len(fetched) == 3


async def test_throttling_is_waited_out(fake: FakeImou) -> None:
    source = connector(fake)
    fake.throttle(2, retry_after=0)
    started = time.monotonic()
    assert "Imou app" in await source.account()
    assert source.http.throttled == 2 and time.monotonic() - started < 5
    await source.close()


async def test_a_spent_quota_fails_as_throttled(fake: FakeImou) -> None:
    fake.exhaust_quota()
    with pytest.raises(DeviceError) as spent:
        await connector(fake).account()
    assert spent.value.kind == "throttled" and "OP1013" in spent.value.message


@pytest.mark.parametrize(
    ("app_id", "secret", "code"), [("lc-test-app", "wrong", "SN1001"), ("lc-other", None, "SN1004")]
)
async def test_refused_keys_are_auth_errors(
    fake: FakeImou, app_id: str, secret: str | None, code: str
) -> None:
    with pytest.raises(DeviceError) as refused:
        await connector(fake, secret, app_id=app_id).account()
    assert refused.value.kind == "auth" and code in refused.value.message


async def test_a_wrong_clock_is_named(fake: FakeImou) -> None:
    fake.clock_skew = 900
    with pytest.raises(DeviceError) as skewed:
        await connector(fake).account()
    assert skewed.value.kind == "protocol" and "clock" in skewed.value.message


async def test_the_fake_refuses_a_reused_nonce(fake: FakeImou) -> None:
    stamp = int(time.time())
    envelope = {
        "system": {
            "ver": "1.0",
            "appId": fake.app_id,
            "sign": sign(stamp, "n1", fake.app_secret),
            "time": stamp,
            "nonce": "n1",
        },
        "params": {},
        "id": str(uuid.uuid4()),
    }
    async with httpx.AsyncClient(base_url=fake.urls["api"]) as client:
        first = (await client.post("/openapi/accessToken", json=envelope)).json()
        second = (await client.post("/openapi/accessToken", json=envelope)).json()
    assert first["result"]["code"] == "0" and second["result"]["code"] == "SN1005"


async def test_folders_are_devices_then_their_channels(fake: FakeImou) -> None:
    source: FolderBrowser = connector(fake)
    top = await source.list_folders(None)
    assert [(f.id, f.name, f.has_children) for f in top] == [
        ("SN0001", "Front door", True),
        ("SN0002", "Yard", True),
        ("SN0003", "Garage/left", True),
    ]
    channels = await source.list_folders("SN0002")
    assert [(f.id, f.name, f.path, f.has_children) for f in channels] == [
        ("SN0002:0", "Gate", "Yard/Gate", False),
        ("SN0002:1", "Shed", "Yard/Shed", False),
    ]
    assert await source.list_folders("SN0002:1") == []
    with pytest.raises(DeviceError) as missing:
        await source.list_folders("NOPE")
    assert missing.value.kind == "not_found"
