"""The OneDrive connector over real HTTP against the Graph fake on loopback (tests/fakes/onedrive.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fakes.onedrive import FakeOneDrive, quick_xor_hash
from vtrack.db.types import utcnow
from vtrack.devices.errors import DeviceError
from vtrack.sources.base import RemoteFile
from vtrack.sources.http import AccessTokens, StaticToken
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
from vtrack.sources.onedrive import OneDriveConnector, oauth_endpoints

WHEN = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
DRIVE = {
    "CCTV/cam1/2026-11-20/0800.mp4": b"a" * 3000,
    "CCTV/cam1/2026-11-20/0900.mp4": b"b" * 10,
    "CCTV/cam1/notes.txt": b"not video",
    "CCTV/cam2/0900.dav": b"c" * 20,
    "CCTV/cam2/snapshot.jpg": b"jpeg",
    "Holiday/beach.mkv": b"d" * 5,
    "top.mov": b"e" * 7,
}
Connect = Callable[..., OneDriveConnector]  # (root="", tokens=...) -> a connector closed after the test


class Account:
    """A signed-in account as the server keeps it: tokens that refresh at the fake, each save recorded."""

    def __init__(self, fake: FakeOneDrive, http: httpx.AsyncClient) -> None:
        answer = fake.auth.issue()
        self.first = TokenSet(answer["access_token"], answer["refresh_token"], utcnow() + timedelta(hours=1))
        self.endpoints = oauth_endpoints(fake.urls)
        self.client = OAuthClient(fake.auth.client_id, fake.auth.client_secret)
        self.http = http
        self.saved: list[TokenSet] = []
        self.tokens = RefreshingTokens(self.first, self._refresh, self._save)

    async def _refresh(self, tokens: TokenSet) -> TokenSet:
        return await refresh_tokens(self.http, self.endpoints, self.client, tokens)

    async def _save(self, tokens: TokenSet) -> None:
        self.saved.append(tokens)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOneDrive]:
    async with FakeOneDrive(page_size=3) as drive:
        for path, data in DRIVE.items():
            drive.add_file(path, data, modified=WHEN)
        drive.add_file("CCTV/cam2/clip", b"f" * 4, modified=WHEN, mime="video/mp4")  # no extension
        yield drive


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def account(fake: FakeOneDrive, http: httpx.AsyncClient) -> Account:
    return Account(fake, http)


@pytest.fixture
async def connect(fake: FakeOneDrive, account: Account) -> AsyncIterator[Connect]:
    made: list[OneDriveConnector] = []

    def make(root: str = "", tokens: AccessTokens | None = None) -> OneDriveConnector:
        connector = OneDriveConnector(tokens or account.tokens, root=root, urls=fake.urls)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        await connector.close()


async def sync_all(
    connector: OneDriveConnector, cursor: str | None = None
) -> tuple[list[RemoteFile], str, int]:
    """Every page until caught up: (files, cursor, pages)."""
    files: list[RemoteFile] = []
    pages = 0
    while True:
        page = await connector.changes(cursor, page_size=100)
        files += page.files
        cursor, pages = page.cursor, pages + 1
        if not page.has_more:
            return files, cursor, pages


async def read(connector: OneDriveConnector, file: RemoteFile, offset: int = 0) -> bytes:
    return b"".join([chunk async for chunk in connector.open(file, offset)])


async def test_full_listing_pages_and_offers_only_video(fake: FakeOneDrive, connect: Connect) -> None:
    connector = connect()
    files, cursor, pages = await sync_all(connector)
    assert pages > 3  # the fake serves 3 items a page whatever $top asks
    assert sorted(f.path for f in files) == [
        "CCTV/cam1/2026-11-20/0800.mp4",
        "CCTV/cam1/2026-11-20/0900.mp4",
        "CCTV/cam2/0900.dav",
        "CCTV/cam2/clip",
        "Holiday/beach.mkv",
        "top.mov",
    ]
    first = next(f for f in files if f.path.endswith("0800.mp4"))
    assert first.id == fake.id_of("CCTV/cam1/2026-11-20/0800.mp4") and first.size == 3000
    assert first.modified == WHEN and first.modified.tzinfo is not None
    assert first.content_hash == f"quickxor:{quick_xor_hash(b'a' * 3000)}"
    assert first.content_type == "video/mp4"
    assert "deltaLink" not in cursor and "/v1.0/me/drive/root/delta?token=" in cursor
    assert fake.count("/me/drive/items/") == 0  # parents came before children: no path look-ups


async def test_a_folder_root_scopes_the_sync_and_paths_are_relative(
    fake: FakeOneDrive, connect: Connect
) -> None:
    files, _, _ = await sync_all(connect("CCTV"))
    assert sorted(f.path for f in files) == [
        "cam1/2026-11-20/0800.mp4",
        "cam1/2026-11-20/0900.mp4",
        "cam2/0900.dav",
        "cam2/clip",
    ]
    assert fake.count("/root:/CCTV:/delta") >= 1 and fake.count("/me/drive/root/delta") == 0


async def test_business_drives_fall_back_to_the_root_delta(fake: FakeOneDrive, connect: Connect) -> None:
    fake.folder_delta = False  # OneDrive for Business: delta on the drive root only
    connector = connect("/CCTV/cam2/")
    files, cursor, _ = await sync_all(connector)
    assert sorted(f.path for f in files) == ["0900.dav", "clip"]
    assert fake.count("/root:/CCTV/cam2:/delta") == 1 and fake.count("/me/drive/root/delta") >= 1
    fake.add_file("CCTV/cam1/elsewhere.mp4", b"x")
    fake.add_file("CCTV/cam2/1000.mp4", b"y")
    later, _, _ = await sync_all(connector, cursor)
    assert [f.path for f in later] == ["1000.mp4"]


async def test_changes_since_a_cursor(fake: FakeOneDrive, connect: Connect) -> None:
    fake.page_size = 100  # one page per sync, so each step below is one changes() call
    connector = connect("CCTV")
    files, cursor, _ = await sync_all(connector)
    before = len(fake.requests)
    again = await connector.changes(cursor)
    assert again.files == [] and not again.has_more and len(fake.requests) == before + 1

    fake.add_file("CCTV/cam3/1000.mp4", b"new")
    fake.add_file("CCTV/cam3/readme.txt", b"not video")
    fake.add_file("Elsewhere/1000.mp4", b"outside the root")
    new = await connector.changes(again.cursor)
    assert [f.path for f in new.files] == ["cam3/1000.mp4"] and not new.has_more

    moved_id = fake.id_of("CCTV/cam2/0900.dav")
    fake.move("CCTV/cam2/0900.dav", "CCTV/archive/0900.dav")
    fake.move("CCTV/cam1/2026-11-20/0900.mp4", "Holiday/0900.mp4")  # out of the root
    fake.delete("CCTV/cam1/2026-11-20/0800.mp4")
    moved = await connector.changes(new.cursor)
    assert [(f.id, f.path) for f in moved.files] == [(moved_id, "archive/0900.dav")]

    fake.modify("CCTV/cam2/clip", b"longer clip")
    changed = await connector.changes(moved.cursor)
    assert [(f.path, f.size) for f in changed.files] == [("cam2/clip", 11)]


async def test_a_cursor_survives_a_restart_mid_enumeration(fake: FakeOneDrive, connect: Connect) -> None:
    first = await connect().changes(None)
    assert first.has_more
    resumed = connect()  # a new process: knows no folder yet
    rest, _, _ = await sync_all(resumed, first.cursor)
    assert sorted(f.path for f in first.files + rest) == sorted(
        [*(p for p in DRIVE if p.endswith((".mp4", ".dav", ".mkv", ".mov"))), "CCTV/cam2/clip"]
    )
    assert fake.count("GET /v1.0/me/drive/items/") >= 1  # unknown parents looked up by id


async def test_an_expired_delta_token_restarts_the_enumeration(fake: FakeOneDrive, connect: Connect) -> None:
    connector = connect("CCTV")
    files, cursor, _ = await sync_all(connector)
    fake.invalidate_delta_tokens()
    fake.add_file("CCTV/cam1/1100.mp4", b"z")
    again, _, _ = await sync_all(connector, cursor)
    assert fake.resyncs == 1
    assert sorted(f.path for f in again) == sorted([f.path for f in files] + ["cam1/1100.mp4"])


async def test_a_cursor_for_another_host_is_not_followed(fake: FakeOneDrive, connect: Connect) -> None:
    connector = connect("CCTV")
    files, _, _ = await sync_all(connector, "https://elsewhere.invalid/v1.0/me/drive/root/delta?token=x")
    assert len(files) == 4  # enumerated afresh from the configured API, no bearer sent elsewhere


async def test_reads_whole_and_from_an_offset(fake: FakeOneDrive, connect: Connect) -> None:
    data = bytes(range(256)) * 40
    fake.add_file("CCTV/long.mp4", data)
    connector = connect("CCTV")
    files, _, _ = await sync_all(connector)
    [file] = [f for f in files if f.path == "long.mp4"]
    assert await read(connector, file) == data
    assert await read(connector, file, 5000) == data[5000:]
    fake.ignore_range = 1  # the docs allow a 200 with the whole file to a ranged request
    assert await read(connector, file, 6001) == data[6001:]
    assert fake.ignore_range == 0
    before = len(fake.requests)
    assert await read(connector, file, len(data)) == b"" and len(fake.requests) == before
    assert fake.count("GET /download/") == 3 and fake.download_bearers == 0  # no bearer to the content host


async def test_an_expired_token_is_refreshed_once_and_the_rotated_one_kept(
    fake: FakeOneDrive, connect: Connect, account: Account, http: httpx.AsyncClient
) -> None:
    connector = connect("CCTV")
    fake.auth.expire_all()
    await asyncio.gather(
        connector.account(), connector.list_folders(None), connector.changes(None), connector.account()
    )
    assert fake.unauthorized >= 2
    assert fake.auth.token_requests.count("refresh_token") == 1 and account.tokens.refreshes == 1
    [saved] = account.saved
    assert saved.refresh_token and saved.refresh_token != account.first.refresh_token
    assert account.tokens.tokens == saved
    with pytest.raises(OAuthError) as spent:  # the spent refresh token is refused from now on
        await refresh_tokens(http, account.endpoints, account.client, account.first)
    assert spent.value.error == "invalid_grant" and spent.value.kind == "auth"
    assert (await refresh_tokens(http, account.endpoints, account.client, saved)).access_token


async def test_throttling_waits_what_retry_after_says(fake: FakeOneDrive, account: Account) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    connector = OneDriveConnector(account.tokens, urls=fake.urls, sleep=sleep)
    fake.throttle(2, retry_after=1, status=429)
    fake.throttle(1, retry_after=0, status=503)
    assert await connector.account() == fake.owner
    assert fake.throttled == 3 and connector.http.throttled == 3 and waits == [1.0, 1.0, 0.0]
    files, _, _ = await sync_all(connector)
    fake.throttle(1, retry_after=1)  # a download throttled too
    assert await read(connector, next(f for f in files if f.path == "top.mov")) == b"e" * 7
    assert connector.http.throttled == 4
    await connector.close()


async def test_refused_credentials_are_an_auth_error(fake: FakeOneDrive, account: Account) -> None:
    bogus = OneDriveConnector(StaticToken("at-bogus"), urls=fake.urls)
    with pytest.raises(DeviceError) as refused:
        await bogus.account()
    assert refused.value.kind == "auth"
    await bogus.close()

    revoked = TokenSet("at-bogus", "rt-revoked", utcnow() + timedelta(hours=1))
    account.tokens.tokens = revoked  # the user revoked the app: the refresh is refused as well
    connector = OneDriveConnector(account.tokens, urls=fake.urls)
    with pytest.raises(DeviceError) as also:
        await connector.changes(None)
    assert also.value.kind == "auth" and fake.auth.refused == ["invalid_grant"]
    await connector.close()


async def test_pkce_code_flow(fake: FakeOneDrive, http: httpx.AsyncClient) -> None:
    endpoints = oauth_endpoints(fake.urls)
    client = OAuthClient(fake.auth.client_id, fake.auth.client_secret)
    redirect = "http://127.0.0.1:9/oauth/callback"
    verifier, challenge = pkce_pair()
    url = authorization_url(endpoints, client, redirect, "state-1", challenge)
    assert url.startswith(f"{fake.urls['login']}/common/oauth2/v2.0/authorize?")
    assert parse_qs(urlsplit(url).query)["scope"] == ["offline_access Files.Read User.Read"]
    answer = await http.get(url, follow_redirects=False)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["state-1"]
    tokens = await exchange_code(http, endpoints, client, query["code"][0], redirect, verifier)
    assert tokens.refresh_token and tokens.expires_at is not None
    connector = OneDriveConnector(StaticToken(tokens.access_token), urls=fake.urls)
    assert await connector.account() == fake.owner
    await connector.close()

    other_verifier, challenge = pkce_pair()
    answer = await http.get(authorization_url(endpoints, client, redirect, "s2", challenge))
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    with pytest.raises(OAuthError) as wrong:
        await exchange_code(http, endpoints, client, code, redirect, verifier)  # not this code's verifier
    assert wrong.value.error == "invalid_grant" and other_verifier != verifier


async def test_device_code_flow(fake: FakeOneDrive, http: httpx.AsyncClient) -> None:
    endpoints = oauth_endpoints(fake.urls)
    fake.auth.client_secret = None  # the device flow is for public clients: no secret on the box
    client = OAuthClient(fake.auth.client_id)
    started = await start_device_code(http, endpoints, client)
    assert await poll_device_code(http, endpoints, client, started.device_code) is None
    fake.auth.approve_device(started.user_code)
    await asyncio.sleep(started.interval)
    tokens = await poll_device_code(http, endpoints, client, started.device_code)
    assert tokens is not None and tokens.refresh_token


async def test_lists_folders_one_level_at_a_time(fake: FakeOneDrive, connect: Connect) -> None:
    fake.add_folder("Empty")
    for n in range(4):
        fake.add_folder(f"CCTV/cam{n + 3}")
    connector = connect()
    top = await connector.list_folders(None)
    assert [(f.name, f.id, f.path) for f in top] == [
        ("CCTV", "CCTV", "CCTV"),
        ("Empty", "Empty", "Empty"),
        ("Holiday", "Holiday", "Holiday"),
    ]
    assert [f.has_children for f in top] == [None, False, None]
    before = fake.count("/children")
    cctv = await connector.list_folders("CCTV")
    assert [f.id for f in cctv] == [f"CCTV/cam{n}" for n in range(1, 7)]  # no files, no grandchildren
    assert fake.count("/children") - before == 2  # six folders, three a page
    assert [f.id for f in await connector.list_folders("CCTV/cam1")] == ["CCTV/cam1/2026-11-20"]
    scoped = connect("CCTV/cam1")
    assert [f.path for f in await scoped.list_folders(None)] == ["CCTV/cam1/2026-11-20"]


async def test_account_and_a_missing_root(fake: FakeOneDrive, connect: Connect) -> None:
    assert await connect().account() == "Ada Lovelace"
    with pytest.raises(DeviceError) as missing:
        await connect("No such folder").changes(None)
    assert missing.value.kind == "not_found" and "itemNotFound" in missing.value.message


async def test_refresh_renews_an_expiring_token(
    fake: FakeOneDrive, connect: Connect, account: Account
) -> None:
    account.tokens.tokens = TokenSet(account.first.access_token, account.first.refresh_token, utcnow())
    await connect().refresh()
    assert account.tokens.refreshes == 1 and len(account.saved) == 1


async def test_endpoints_default_to_microsoft() -> None:
    endpoints = oauth_endpoints()
    assert endpoints.authorize_url == "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    assert endpoints.token_url == "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    assert endpoints.device_code_url == "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode"
    assert oauth_endpoints(tenant="consumers").token_url.endswith("/consumers/oauth2/v2.0/token")
    assert "offline_access" in endpoints.scopes
    connector = OneDriveConnector(StaticToken("t"))
    assert connector.api == "https://graph.microsoft.com/v1.0"  # no request made
    await connector.close()
