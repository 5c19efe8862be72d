"""The Google Drive connector against the loopback Drive fake, over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fakes.google_drive import FakeGoogleDrive
from vtrack.devices.errors import DeviceError
from vtrack.sources.base import RemoteFile
from vtrack.sources.google_drive import (
    DEFAULT_URLS,
    MAX_CURSOR,
    SCOPE,
    GoogleDriveConnector,
    oauth_endpoints,
)
from vtrack.sources.http import AccessTokens, Pacer, StaticToken
from vtrack.sources.oauth import (
    OAuthClient,
    OAuthError,
    RefreshingTokens,
    TokenSet,
    authorization_url,
    exchange_code,
    pkce_pair,
    poll_device_code,
    refresh_tokens,
    start_device_code,
)

REDIRECT = "http://127.0.0.1:8080/oauth/callback"
DAY = datetime(2026, 11, 20, 8, tzinfo=UTC)


class Waits:
    """The connector's `sleep`: records what it was asked to wait, without waiting."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeGoogleDrive]:
    async with FakeGoogleDrive(page_size=2) as drive:
        yield drive


def connect(
    fake: FakeGoogleDrive, *, root: str = "", tokens: AccessTokens | None = None, sleep: Waits | None = None
) -> GoogleDriveConnector:
    token = StaticToken(fake.auth.issue()["access_token"]) if tokens is None else tokens
    connector = GoogleDriveConnector(token, root=root, urls=fake.urls, sleep=sleep or asyncio.sleep)
    connector.http.pacer = Pacer(1000.0)  # the fake has no quota; pacing itself is CloudHttp's, tested there
    return connector


async def sync_all(
    connector: GoogleDriveConnector, cursor: str | None, page_size: int = 1000
) -> tuple[list[RemoteFile], str, int]:
    """Every page until has_more is false: (files, last cursor, pages)."""
    files: list[RemoteFile] = []
    pages = 0
    while True:
        page = await connector.changes(cursor, page_size=page_size)
        files += page.files
        cursor, pages = page.cursor, pages + 1
        assert len(page.cursor) <= MAX_CURSOR and json.loads(page.cursor)
        if not page.has_more:
            return files, cursor, pages


async def read(connector: GoogleDriveConnector, file: RemoteFile, offset: int = 0) -> bytes:
    return b"".join([chunk async for chunk in connector.open(file, offset)])


def camera_drive(fake: FakeGoogleDrive) -> dict[str, str]:
    ids = {
        "cam1/2026-11-20/0800.mp4": fake.add_file("cam1/2026-11-20/0800.mp4", b"a" * 3000, modified=DAY),
        "cam1/2026-11-20/0900.mp4": fake.add_file("cam1/2026-11-20/0900.mp4", b"b" * 10),
        "cam1/2026-11-20/1000.mkv": fake.add_file("cam1/2026-11-20/1000.mkv", b"c" * 20),
        "cam2/0900.dav": fake.add_file("cam2/0900.dav", b"d" * 30),
        "cam2/clip": fake.add_file("cam2/clip", b"e" * 5, mime_type="video/mp2t"),
    }
    fake.add_file("cam1/notes.txt", b"not video")
    fake.add_file("cam1/snapshot.jpg", b"jpeg")
    fake.add_document("cam1/report.mp4")  # a Google Doc named like a video: nothing to download
    fake.folder("cam3/empty")
    return ids


async def test_first_sync_walks_the_drive_page_by_page(fake: FakeGoogleDrive) -> None:
    ids = camera_drive(fake)
    connector = connect(fake)
    files, cursor, pages = await sync_all(connector, None, page_size=2)
    assert sorted(f.path for f in files) == sorted(ids)
    assert {f.path: f.id for f in files} == ids and len(files) == len(ids)
    first = next(f for f in files if f.path == "cam1/2026-11-20/0800.mp4")
    assert first.size == 3000 and first.modified == DAY and first.modified.tzinfo is not None
    assert first.content_hash == "md5:" + hashlib.md5(b"a" * 3000, usedforsecurity=False).hexdigest()
    assert first.content_type == "video/mp4"
    assert pages >= 3  # page_size=2 over five videos
    listed = [r for r in fake.requests if r.startswith("/drive/v3/files?")]
    assert any("pageToken=" in r for r in listed)  # the fake answers two entries a page: the walk paged
    # The feed's start is taken before the walk, so what changes during it is in the feed afterwards.
    start = fake.requests.index(next(r for r in fake.requests if "startPageToken" in r))
    assert start < fake.requests.index(listed[0])
    await connector.close()


async def test_an_interrupted_walk_resumes_from_its_cursor(fake: FakeGoogleDrive) -> None:
    ids = camera_drive(fake)
    first = connect(fake)
    page = await first.changes(None, page_size=2)
    await first.close()
    assert page.has_more and len(page.files) == 2
    fresh = connect(fake)  # another process: nothing cached, everything from the cursor
    rest, _, _ = await sync_all(fresh, page.cursor, page_size=2)
    assert sorted(f.path for f in page.files + rest) == sorted(ids)
    await fresh.close()


async def test_changes_after_the_first_sync(fake: FakeGoogleDrive) -> None:
    ids = camera_drive(fake)
    connector = connect(fake)
    _, cursor, _ = await sync_all(connector, None)

    before = len(fake.requests)
    again = await connector.changes(cursor)
    assert again.files == [] and again.cursor == cursor and not again.has_more
    assert len(fake.requests) == before + 1  # no change: one request

    new = fake.add_file("cam2/2026-11-21/0700.mp4", b"n" * 7)
    fake.add_file("cam2/2026-11-21/readme.txt", b"x")
    moved = ids["cam1/2026-11-20/0900.mp4"]
    fake.move(moved, "cam2/archive/0900-renamed.mp4")
    fake.modify(ids["cam2/0900.dav"], b"D" * 31)
    fake.trash(ids["cam1/2026-11-20/1000.mkv"])
    fake.delete(ids["cam2/clip"])
    later, cursor, _ = await sync_all(connector, cursor)
    by_id = {f.id: f for f in later}
    assert by_id[new].path == "cam2/2026-11-21/0700.mp4"
    assert by_id[moved].path == "cam2/archive/0900-renamed.mp4"  # same id, new path
    assert by_id[ids["cam2/0900.dav"]].size == 31
    assert set(by_id) == {new, moved, ids["cam2/0900.dav"]}
    assert (await connector.changes(cursor)).files == []
    await connector.close()


async def test_the_feed_pages_and_a_fresh_connector_resolves_paths(fake: FakeGoogleDrive) -> None:
    camera_drive(fake)
    connector = connect(fake)
    _, cursor, _ = await sync_all(connector, None)
    await connector.close()
    fake.advance(60)
    for n in range(5):
        fake.add_file(f"cam4/{n}.mp4", b"x" * n)
    fresh = connect(fake)  # nothing cached: parents are looked up with files.get
    files, _, pages = await sync_all(fresh, cursor, page_size=2)
    assert sorted(f.path for f in files) == [f"cam4/{n}.mp4" for n in range(5)]
    assert pages >= 3 and any("/drive/v3/changes?" in r and "pageSize=2" in r for r in fake.requests)
    await fresh.close()


async def test_root_scopes_the_sync_to_a_folder(fake: FakeGoogleDrive) -> None:
    camera_drive(fake)
    connector = connect(fake, root=fake.folder("cam1"))
    files, cursor, _ = await sync_all(connector, None)
    assert sorted(f.path for f in files) == [
        "2026-11-20/0800.mp4",
        "2026-11-20/0900.mp4",
        "2026-11-20/1000.mkv",
    ]

    fake.add_file("cam1/2026-11-21/0100.mp4", b"in")
    fake.add_file("cam2/0100.mp4", b"out")
    outside = fake.add_file("elsewhere/old/2026-01-01/a.mp4", b"old")
    later, cursor, _ = await sync_all(connector, cursor)
    assert {f.path for f in later} == {"2026-11-21/0100.mp4"}

    # Drive reports only the moved folder, not its files: they come back with their new paths.
    fake.move(fake.folder("elsewhere/old"), "cam1/imported")
    moved_in, _, _ = await sync_all(connector, cursor)
    assert {(f.id, f.path) for f in moved_in} == {(outside, "imported/2026-01-01/a.mp4")}
    await connector.close()


async def test_a_folder_created_since_the_last_sync_is_not_walked(fake: FakeGoogleDrive) -> None:
    """Its files are all in the feed; walking it too would offer each of them twice."""
    camera_drive(fake)
    connector = connect(fake)
    _, cursor, _ = await sync_all(connector, None)
    fake.page_size = 1000
    fake.advance(60)  # Google's clock: the next day's folder is created a minute after the last sync
    day = {fake.add_file(f"cam1/2026-11-21/{n}.mp4", b"x") for n in range(3)}
    before = len(fake.requests)
    files, cursor, _ = await sync_all(connector, cursor)
    assert sorted(f.id for f in files) == sorted(day)
    assert not any(r.startswith("/drive/v3/files?") for r in fake.requests[before:])

    # A folder Drive reports that existed before the last sync may have been moved: it is walked.
    renamed = fake.folder("cam2")
    fake.move(renamed, "cam2-garage")
    files, _, _ = await sync_all(connector, cursor)
    assert sorted(f.path for f in files) == ["cam2-garage/0900.dav", "cam2-garage/clip"]
    await connector.close()


async def test_a_cursor_that_would_grow_too_long_walks_the_root_again(fake: FakeGoogleDrive) -> None:
    fake.page_size = 1000
    folders = [fake.folder(f"camera-north-entrance-{n:02d}") for n in range(60)]
    for n in range(60):
        fake.add_file(f"camera-north-entrance-{n:02d}/0800.mp4", b"v")
    connector = connect(fake)
    _, cursor, _ = await sync_all(connector, None)
    for n, folder in enumerate(folders):
        fake.move(folder, f"reorganised/entrance-{n:02d}")  # sixty folders to walk: too many to list
    before = len(fake.requests)
    files, _, _ = await sync_all(connector, cursor)  # every cursor checked <= MAX_CURSOR
    assert sorted({f.path for f in files}) == [f"reorganised/entrance-{n:02d}/0800.mp4" for n in range(60)]
    root_listing = f"%27{fake.root_id}%27+in+parents"
    assert any(root_listing in r for r in fake.requests[before:])  # the whole root, walked again
    await connector.close()


async def test_a_missing_root_is_not_found(fake: FakeGoogleDrive) -> None:
    connector = connect(fake, root="1nosuchfolder")
    with pytest.raises(DeviceError) as missing:
        await connector.changes(None)
    assert missing.value.kind == "not_found"
    await connector.close()


async def test_reads_whole_and_from_an_offset(fake: FakeGoogleDrive) -> None:
    data = bytes(range(256)) * 20
    fake.add_file("cam1/0800.mp4", data)
    connector = connect(fake)
    [file] = (await connector.changes(None)).files
    assert await read(connector, file) == data
    assert await read(connector, file, offset=5000) == data[5000:]
    assert fake.ranges == ["bytes=5000-"]
    assert await read(connector, file, offset=len(data)) == b""
    await connector.close()


async def test_an_expired_token_is_refreshed_once_for_concurrent_requests(fake: FakeGoogleDrive) -> None:
    camera_drive(fake)
    client = OAuthClient(fake.auth.client_id, fake.auth.client_secret)
    endpoints = oauth_endpoints(fake.urls)
    saved: list[TokenSet] = []
    answer = fake.auth.issue()
    initial = TokenSet(
        answer["access_token"], answer["refresh_token"], datetime.now(UTC) + timedelta(hours=1)
    )
    async with httpx.AsyncClient() as http:

        async def refresh(tokens: TokenSet) -> TokenSet:
            return await refresh_tokens(http, endpoints, client, tokens)

        async def save(tokens: TokenSet) -> None:
            saved.append(tokens)

        tokens = RefreshingTokens(initial, refresh, save)
        connector = connect(fake, tokens=tokens)
        fake.auth.expire_all()
        results = await asyncio.gather(
            connector.account(), connector.list_folders(None), connector.account(), connector.changes(None)
        )
    assert results[0] == "camera.owner@example.com"
    assert tokens.refreshes == 1 and fake.auth.token_requests.count("refresh_token") == 1
    # Google does not rotate refresh tokens: the answer has none and the stored one is kept.
    assert (
        saved[0].refresh_token == answer["refresh_token"] and saved[0].access_token != answer["access_token"]
    )
    await connector.close()


async def test_429_waits_what_retry_after_says(fake: FakeGoogleDrive) -> None:
    waits = Waits()
    connector = connect(fake, sleep=waits)
    fake.throttle(1, status=429, retry_after=1)
    assert await connector.account() == "camera.owner@example.com"
    assert waits.seconds == [1.0] and connector.throttled == 1
    await connector.close()


async def test_403_rate_limit_backs_off_exponentially(fake: FakeGoogleDrive) -> None:
    waits = Waits()
    connector = connect(fake, sleep=waits)
    fake.throttle(2, status=403, reason="userRateLimitExceeded")
    fake.throttle(1, status=403, reason="rateLimitExceeded")
    fake.throttle(1, status=429)  # no Retry-After, as Google mostly sends
    assert await connector.account() == "camera.owner@example.com"
    assert connector.throttled == 4 and len(waits.seconds) == 4
    assert 1.0 <= waits.seconds[0] < 2.0 and 2.0 <= waits.seconds[1] < 3.0 and 4.0 <= waits.seconds[2] < 5.0
    fake.throttle(6, status=403, reason="userRateLimitExceeded")
    with pytest.raises(DeviceError) as gave_up:
        await connector.account()
    assert gave_up.value.kind == "throttled"
    await connector.close()


async def test_a_403_that_is_not_throttling_fails_at_once(fake: FakeGoogleDrive) -> None:
    waits = Waits()
    connector = connect(fake, sleep=waits)
    fake.throttle(1, status=403, reason="dailyLimitExceeded")
    with pytest.raises(DeviceError) as spent:
        await connector.account()
    assert spent.value.kind == "throttled" and waits.seconds == []
    fake.throttle(1, status=403, reason="insufficientFilePermissions")
    with pytest.raises(DeviceError) as refused:
        await connector.account()
    assert refused.value.kind == "auth" and waits.seconds == []
    await connector.close()


async def test_refused_credentials_are_an_auth_error(fake: FakeGoogleDrive) -> None:
    connector = connect(fake, tokens=StaticToken("ya29.not-a-token"))
    with pytest.raises(DeviceError) as refused:
        await connector.account()
    assert refused.value.kind == "auth"
    assert fake.count("/drive/v3/about") == 1
    await connector.close()


async def test_account_names_the_user(fake: FakeGoogleDrive) -> None:
    connector = connect(fake)
    assert await connector.account() == "camera.owner@example.com"
    assert fake.requests == ["/drive/v3/about?fields=user"]
    await connector.close()


async def test_list_folders_one_level_at_a_time(fake: FakeGoogleDrive) -> None:
    camera_drive(fake)
    fake.folder("cam1/2026-11-21")
    connector = connect(fake)
    top = await connector.list_folders(None)
    assert [(f.name, f.path) for f in top] == [("cam1", "cam1"), ("cam2", "cam2"), ("cam3", "cam3")]
    assert sum("pageToken=" in r for r in fake.requests) >= 1  # three folders, two a page
    cam1 = next(f for f in top if f.name == "cam1")
    assert cam1.id == fake.folder("cam1")
    below = await connector.list_folders(cam1.id)
    assert [f.path for f in below] == ["cam1/2026-11-20", "cam1/2026-11-21"]  # folders only, no files
    deeper = await connector.list_folders(below[0].id)
    assert deeper == []
    await connector.close()


async def test_the_code_flow_with_pkce(fake: FakeGoogleDrive) -> None:
    endpoints = oauth_endpoints(fake.urls)
    client = OAuthClient(fake.auth.client_id, fake.auth.client_secret)
    verifier, challenge = pkce_pair()
    url = authorization_url(endpoints, client, REDIRECT, "state-1", challenge)
    assert url.startswith(f"{fake.urls['accounts']}/o/oauth2/v2/auth?")
    async with httpx.AsyncClient() as http:
        consent = await http.get(url, follow_redirects=False)
        assert consent.status_code == 302
        query = parse_qs(urlsplit(consent.headers["Location"]).query)
        assert query["state"] == ["state-1"]
        asked = fake.authorize_queries[-1]
        assert asked["access_type"] == "offline" and asked["prompt"] == "consent" and asked["scope"] == SCOPE
        tokens = await exchange_code(http, endpoints, client, query["code"][0], REDIRECT, verifier)
        assert tokens.refresh_token and tokens.expires_at is not None

        consent = await http.get(url, follow_redirects=False)
        code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
        with pytest.raises(OAuthError) as wrong:
            await exchange_code(http, endpoints, client, code, REDIRECT, pkce_pair()[0])
        assert wrong.value.error == "invalid_grant" and wrong.value.kind == "auth"
    connector = connect(fake, tokens=StaticToken(tokens.access_token))
    assert await connector.account() == "camera.owner@example.com"
    await connector.close()


async def test_the_device_flow_against_google_paths(fake: FakeGoogleDrive) -> None:
    endpoints = oauth_endpoints(fake.urls)
    client = OAuthClient(fake.auth.client_id, fake.auth.client_secret)
    async with httpx.AsyncClient() as http:
        device = await start_device_code(http, endpoints, client)
        assert device.verification_uri.startswith(fake.urls["oauth2"])  # Google says verification_url
        assert await poll_device_code(http, endpoints, client, device.device_code) is None
        fake.auth.approve_device(device.user_code)
        await asyncio.sleep(device.interval)
        tokens = await poll_device_code(http, endpoints, client, device.device_code)
    assert tokens is not None and tokens.refresh_token


def test_real_endpoints_are_only_defaults() -> None:
    endpoints = oauth_endpoints()
    assert endpoints.authorize_url == "https://accounts.google.com/o/oauth2/v2/auth"
    assert endpoints.token_url == "https://oauth2.googleapis.com/token"
    assert endpoints.device_code_url == "https://oauth2.googleapis.com/device/code"
    assert endpoints.scopes == ("https://www.googleapis.com/auth/drive.readonly",)
    assert set(DEFAULT_URLS) == {"accounts", "oauth2", "api"}
    overridden = oauth_endpoints({"oauth2": "http://127.0.0.1:9"})
    assert overridden.token_url == "http://127.0.0.1:9/token"
    assert GoogleDriveConnector.rate_limit.requests_per_second <= 20


async def test_a_foreign_cursor_is_refused(fake: FakeGoogleDrive) -> None:
    connector = connect(fake)
    with pytest.raises(DeviceError) as foreign:
        await connector.changes("2026-11-20T08:00:00+00:00|cam1/0800.mp4")
    assert foreign.value.kind == "protocol" and fake.requests == []
    await connector.close()
