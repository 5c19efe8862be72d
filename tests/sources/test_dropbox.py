"""The Dropbox connector against a loopback fake of Dropbox's API (tests/fakes/dropbox.py): sign-in, the
change feed and its cursors, downloads and their resumption, Dropbox's error bodies, its content hash."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fakes.dropbox import FakeDropbox
from vtrack.devices.errors import DeviceError
from vtrack.sources.base import ChangePage, RemoteFile
from vtrack.sources.dropbox import (
    DEFAULT_URLS,
    DropboxConnector,
    api_arg,
    error_tags,
    folder_path,
    oauth_endpoints,
)
from vtrack.sources.dropbox_hash import BLOCK_SIZE, DropboxContentHasher, content_hash
from vtrack.sources.http import AccessTokens, StaticToken
from vtrack.sources.oauth import (
    OAuthClient,
    OAuthError,
    RefreshingTokens,
    TokenSet,
    authorization_url,
    exchange_code,
    pkce_pair,
    refresh_tokens,
)
from vtrack.sync.retry import is_transient

MiB4 = 4 * 1024 * 1024
REDIRECT = "http://127.0.0.1:8000/api/v1/cloud/dropbox/oauth/callback"


def independent_hash(data: bytes) -> str:
    """Dropbox's content hash, written out here on its own: SHA-256 of each 4 MiB block's SHA-256."""
    blocks = [data[i : i + MiB4] for i in range(0, len(data), MiB4)]
    return hashlib.sha256(b"".join(hashlib.sha256(block).digest() for block in blocks)).hexdigest()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDropbox]:
    async with FakeDropbox() as fake:
        yield fake


@asynccontextmanager
async def connected(
    fake: FakeDropbox,
    root: str = "/Cameras",
    tokens: AccessTokens | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[DropboxConnector]:
    connector = DropboxConnector(tokens or StaticToken(fake.token()), root=root, urls=fake.urls, sleep=sleep)
    try:
        yield connector
    finally:
        await connector.close()


async def read(connector: DropboxConnector, file: RemoteFile, offset: int = 0) -> bytes:
    return b"".join([chunk async for chunk in connector.open(file, offset)])


async def drain(connector: DropboxConnector, cursor: str | None, page_size: int = 1000) -> ChangePage:
    """Every page from `cursor` on, as the engine pages them: all their files, and the last cursor."""
    files: list[RemoteFile] = []
    while True:
        page = await connector.changes(cursor, page_size)
        files += page.files
        cursor = page.cursor
        if not page.has_more:
            return ChangePage(files, page.cursor, False)


# -- the content hash ---------------------------------------------------------------------------------------


def test_the_content_hash_is_dropboxs_block_hash() -> None:
    pattern = bytes(range(256)) * (MiB4 // 256)
    # Values published with rdrop2's implementation, computed independently of this project.
    assert content_hash(b"hello rdrop2") == "1aa2b7623dfff520c4abdc1227d10bc4e229b74005b66b3458345830e556f4de"
    assert content_hash(pattern) == "894bbb52d1212d6bcbe9967f1a2169138c4d4af0c8dfbaeae86cd1d3f0c03faf"
    assert (
        content_hash(pattern + b"\xff") == "9149387a91f71c7c2149b8427d15526b71c1a38d6c6f999ad71486a2ce788d57"
    )
    assert content_hash(b"") == hashlib.sha256(b"").hexdigest()  # no blocks at all
    assert content_hash(b"abc") != hashlib.sha256(b"abc").hexdigest()  # not a plain SHA-256
    data = os.urandom(2 * MiB4 + 12345)
    for size in (1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, len(data)):
        assert content_hash(data[:size]) == independent_hash(data[:size])
    hasher = DropboxContentHasher()
    for start in range(0, len(data), 1_000_003):  # chunks that straddle block boundaries
        hasher.update(data[start : start + 1_000_003])
    assert hasher.hexdigest() == independent_hash(data)


# -- sign-in ------------------------------------------------------------------------------------------------


async def authorize(fake: FakeDropbox, offline: bool = True) -> tuple[str, str]:
    """The browser part: open the authorization URL, the user clicks Allow; (code, verifier) come back."""
    endpoints = oauth_endpoints(fake.urls)
    if not offline:
        endpoints = replace(endpoints, authorize_params={})
    verifier, challenge = pkce_pair()
    url = authorization_url(endpoints, OAuthClient(fake.auth.client_id), REDIRECT, "state-1", challenge)
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(REDIRECT)
    back = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert back["state"] == ["state-1"]
    return back["code"][0], verifier


async def sign_in(fake: FakeDropbox, offline: bool = True) -> TokenSet:
    code, verifier = await authorize(fake, offline)
    async with httpx.AsyncClient() as http:
        client = OAuthClient(fake.auth.client_id)  # a public client: PKCE instead of a secret
        return await exchange_code(http, oauth_endpoints(fake.urls), client, code, REDIRECT, verifier)


def account_tokens(fake: FakeDropbox, tokens: TokenSet, saved: list[TokenSet]) -> RefreshingTokens:
    """The tokens as the server keeps them: refreshed at the fake's token endpoint, saved on refresh."""

    async def refresh(current: TokenSet) -> TokenSet:
        async with httpx.AsyncClient() as http:
            client = OAuthClient(fake.auth.client_id)
            return await refresh_tokens(http, oauth_endpoints(fake.urls), client, current)

    async def save(fresh: TokenSet) -> None:
        saved.append(fresh)

    return RefreshingTokens(tokens, refresh, save)


def test_the_real_hosts_are_the_defaults() -> None:
    endpoints = oauth_endpoints()
    assert endpoints.authorize_url == "https://www.dropbox.com/oauth2/authorize"
    assert endpoints.token_url == "https://api.dropboxapi.com/oauth2/token"
    assert endpoints.authorize_params == {"token_access_type": "offline"}
    assert DEFAULT_URLS["content"] == "https://content.dropboxapi.com"


async def test_sign_in_with_pkce_then_the_account_answers(fake: FakeDropbox) -> None:
    tokens = await sign_in(fake)
    query = fake.authorize_queries[0]
    assert query["token_access_type"] == "offline" and query["code_challenge_method"] == "S256"
    assert set(query["scope"].split()) == {"account_info.read", "files.metadata.read", "files.content.read"}
    assert tokens.refresh_token and tokens.account == fake.account_id
    async with connected(fake, tokens=StaticToken(tokens.access_token)) as dropbox:
        assert await dropbox.account() == fake.email
    assert fake.requests == ["users/get_current_account"]


async def test_a_wrong_verifier_is_refused(fake: FakeDropbox) -> None:
    code, _verifier = await authorize(fake)
    other, _ = pkce_pair()
    async with httpx.AsyncClient() as http:
        with pytest.raises(OAuthError) as refused:
            client = OAuthClient(fake.auth.client_id)
            await exchange_code(http, oauth_endpoints(fake.urls), client, code, REDIRECT, other)
    assert refused.value.error == "invalid_grant" and refused.value.kind == "auth"


async def test_an_expired_token_is_refreshed_once_for_concurrent_requests(fake: FakeDropbox) -> None:
    tokens = await sign_in(fake)
    saved: list[TokenSet] = []
    fake.add_file("/Cameras/cam1/0800.mp4", b"v" * 10)
    async with connected(fake, tokens=account_tokens(fake, tokens, saved)) as dropbox:
        await dropbox.account()
        fake.expire_tokens()  # four hours on: every request gets 401 expired_access_token
        fake.requests.clear()
        *pages, label = await asyncio.gather(*(dropbox.changes(None) for _ in range(4)), dropbox.account())
    assert label == fake.email
    assert all([f.path for f in page.files] == ["cam1/0800.mp4"] for page in pages)
    assert fake.auth.token_requests == ["authorization_code", "refresh_token"]  # one refresh for all five
    assert len(saved) == 1 and saved[0].refresh_token == tokens.refresh_token  # Dropbox does not rotate it
    assert fake.auth.refused == []


async def test_without_offline_access_dropbox_gives_no_refresh_token(fake: FakeDropbox) -> None:
    """Why the authorize URL asks for token_access_type=offline: the fake answers as Dropbox does."""
    assert (await sign_in(fake, offline=False)).refresh_token is None


async def test_refresh_renews_a_token_about_to_expire(fake: FakeDropbox) -> None:
    soon = TokenSet(fake.token(), "rt-x", datetime.now(UTC) + timedelta(seconds=10))
    renewed = TokenSet(fake.token(), "rt-x", datetime.now(UTC) + timedelta(hours=4))

    async def refresh(current: TokenSet) -> TokenSet:
        return renewed

    async def save(fresh: TokenSet) -> None:
        return None

    tokens = RefreshingTokens(soon, refresh, save)
    async with connected(fake, tokens=tokens) as dropbox:
        await dropbox.refresh()
        await dropbox.refresh()
    assert tokens.refreshes == 1 and tokens.tokens is renewed


# -- the change feed ----------------------------------------------------------------------------------------


async def test_lists_video_below_the_root_then_only_what_changed(fake: FakeDropbox) -> None:
    clip = os.urandom(3000)
    when = datetime(2026, 11, 20, 8, 0, 5, tzinfo=UTC)
    first_id = fake.add_file("/Cameras/cam1/2026-11-20/0800.mp4", clip, modified=when)
    fake.add_file("/Cameras/cam2/0900.dav", b"b" * 10)
    fake.add_file("/Cameras/cam1/notes.txt", b"not video")
    fake.add_file("/Other/elsewhere.mp4", b"outside the root")
    fake.add_file("/Cameras/cam1/cloud-only.mp4", b"", downloadable=False)
    async with connected(fake, root="/cameras/") as dropbox:  # any case, a trailing slash: still the folder
        first = await dropbox.changes(None)
        assert sorted(f.path for f in first.files) == ["cam1/2026-11-20/0800.mp4", "cam2/0900.dav"]
        [listed] = [f for f in first.files if f.path.endswith("0800.mp4")]
        assert listed.id == first_id and listed.id.startswith("id:")
        assert (listed.size, listed.modified) == (3000, when)
        assert listed.content_hash == "dropbox:" + independent_hash(clip)
        assert not first.has_more and first.cursor

        fake.requests.clear()
        again = await dropbox.changes(first.cursor)
        assert again.files == [] and not again.has_more
        assert fake.requests == ["files/list_folder/continue"]  # a no-change re-sync is one request

        new_clip = os.urandom(500)
        fake.add_file("/Cameras/cam3/1000.mp4", b"c" * 5)
        fake.add_file("/Cameras/cam1/2026-11-20/0800.mp4", new_clip)  # overwritten: same id, new content
        fake.move("/Cameras/cam2/0900.dav", "/Cameras/archive/0900.dav")
        fake.add_file("/Cameras/cam2/gone.mp4", b"g")
        fake.delete("/Cameras/cam2/gone.mp4")
        fake.add_file("/Cameras/cam1/cloud-only.mp4", b"", downloadable=False)  # in the feed, never offered
        later = await dropbox.changes(again.cursor)
    by_path = {f.path: f for f in later.files}
    assert sorted(by_path) == ["archive/0900.dav", "cam1/2026-11-20/0800.mp4", "cam3/1000.mp4"]
    assert by_path["cam1/2026-11-20/0800.mp4"].id == first_id
    assert by_path["cam1/2026-11-20/0800.mp4"].content_hash == "dropbox:" + independent_hash(new_clip)
    moved = by_path["archive/0900.dav"]
    assert moved.id == next(f.id for f in first.files if f.path == "cam2/0900.dav")  # a move keeps the id
    assert moved.content_hash == "dropbox:" + independent_hash(b"b" * 10)


async def test_pages_through_a_large_folder_limit_sized(fake: FakeDropbox) -> None:
    ids = fake.large_folder("/Cameras/big", 2500, every=10)  # every tenth a .txt
    videos = {i for n, i in enumerate(ids) if n % 10 != 9}
    async with connected(fake) as dropbox:
        listing = await drain(dropbox, None, page_size=1000)
        seen = [f.id for f in listing.files]
        assert len(seen) == len(set(seen)) == 2250 and set(seen) == videos
        # The folder itself and its subfolder come first, then the 2,500 files: three pages of at most 1,000.
        assert fake.page_sizes == [1000, 1000, 502]
        assert fake.requests == ["files/list_folder"] + ["files/list_folder/continue"] * 2

        fake.requests.clear()
        fake.large_folder("/Cameras/more", 30)
        smaller = await drain(dropbox, listing.cursor)
    assert len(smaller.files) == 30 and fake.requests == ["files/list_folder/continue"]


async def test_pages_may_be_smaller_than_the_limit(fake: FakeDropbox) -> None:
    """Dropbox calls `limit` approximate: the connector follows has_more, whatever each page holds."""
    fake.large_folder("/Cameras/x", 25)
    fake.page_limit = 4
    async with connected(fake) as dropbox:
        everything = await drain(dropbox, None, page_size=1000)
    assert len(everything.files) == 25 and len(fake.requests) == 7  # 27 entries with the two folders


async def test_a_reset_cursor_starts_the_listing_again(fake: FakeDropbox) -> None:
    fake.add_file("/Cameras/a.mp4", b"a")
    async with connected(fake) as dropbox:
        first = await dropbox.changes(None)
        fake.reset_cursors()  # Dropbox invalidated it (a namespace change, a very old cursor)
        fake.add_file("/Cameras/b.mp4", b"b")
        fake.requests.clear()
        restarted = await dropbox.changes(first.cursor)
        assert sorted(f.path for f in restarted.files) == ["a.mp4", "b.mp4"]  # everything again, not an error
        assert fake.requests == ["files/list_folder/continue", "files/list_folder"]
        fake.add_file("/Cameras/c.mp4", b"c")
        after = await dropbox.changes(restarted.cursor)
    assert [f.path for f in after.files] == ["c.mp4"]


async def test_a_latest_cursor_skips_what_is_already_there(fake: FakeDropbox) -> None:
    fake.add_file("/Cameras/old.mp4", b"o")
    async with connected(fake) as dropbox:
        cursor = await dropbox.latest_cursor()
        assert (await dropbox.changes(cursor)).files == []
        fake.add_file("/Cameras/new.mp4", b"n")
        page = await dropbox.changes(cursor)
    assert [f.path for f in page.files] == ["new.mp4"]


async def test_the_whole_dropbox_as_root(fake: FakeDropbox) -> None:
    """Dropbox refuses "/" for its root (400); the connector sends "" whatever the user typed."""
    fake.add_file("/top.mp4", b"t")
    fake.add_file("/Cửa hàng/cam1/0800.mp4", b"v")
    for root in ("", "/", " / "):
        async with connected(fake, root=root) as dropbox:
            page = await dropbox.changes(None)
        assert sorted(f.path for f in page.files) == ["Cửa hàng/cam1/0800.mp4", "top.mp4"]
    assert folder_path("/a//b/") == "/a/b" and folder_path(None) == ""


# -- the folder picker --------------------------------------------------------------------------------------


async def test_list_folders_lists_only_folders_one_level_at_a_time(fake: FakeDropbox) -> None:
    fake.add_file("/Cameras/cam1/0800.mp4", b"x")
    fake.mkdir("/Cameras/cam2")
    fake.mkdir("/archive")
    fake.add_file("/loose.mp4", b"x")
    async with connected(fake, root="") as dropbox:
        top = await dropbox.list_folders(None)
        assert [(f.name, f.path) for f in top] == [("archive", "/archive"), ("Cameras", "/Cameras")]
        inside = await dropbox.list_folders(top[1].id)
        assert [f.path for f in inside] == ["/Cameras/cam1", "/Cameras/cam2"]
        assert await dropbox.list_folders("/Cameras/cam1") == []
        with pytest.raises(DeviceError) as missing:
            await dropbox.list_folders("/nope")
    assert missing.value.kind == "not_found" and "path/not_found" in missing.value.message


async def test_list_folders_follows_has_more(fake: FakeDropbox) -> None:
    for n in range(2010):  # more than one list_folder answer holds (2,000)
        fake.mkdir(f"/many/f{n:04d}")
    async with connected(fake, root="") as dropbox:
        folders = await dropbox.list_folders("/many")
    assert len(folders) == 2010 and folders[0].name == "f0000"
    assert fake.requests == ["files/list_folder", "files/list_folder/continue"]


# -- downloads ----------------------------------------------------------------------------------------------


async def test_downloads_whole_and_from_an_offset(fake: FakeDropbox) -> None:
    data = os.urandom(2 * MiB4 + 777)  # three hash blocks
    file_id = fake.add_file("/Cameras/cam1/long.mp4", data)
    async with connected(fake) as dropbox:
        [file] = (await dropbox.changes(None)).files
        assert await read(dropbox, file) == data
        assert await read(dropbox, file, offset=MiB4 + 5) == data[MiB4 + 5 :]
        assert await read(dropbox, file, offset=len(data)) == b""  # already complete: nothing is asked
    whole, ranged = fake.download_headers
    assert json.loads(whole["Dropbox-API-Arg"]) == {"path": file_id} and "Range" not in whole
    assert ranged["Range"] == f"bytes={MiB4 + 5}-"
    assert fake.requests.count("files/download") == 2


async def test_a_server_that_ignores_range_still_yields_only_the_rest(fake: FakeDropbox) -> None:
    data = os.urandom(100_000)
    fake.add_file("/Cameras/a.mp4", data)
    fake.ignore_range = True
    async with connected(fake) as dropbox:
        [file] = (await dropbox.changes(None)).files
        assert await read(dropbox, file, offset=70_001) == data[70_001:]


async def test_a_dropped_download_resumes_where_it_stopped(fake: FakeDropbox) -> None:
    data = os.urandom(3 * 1024 * 1024 + 99)
    fake.add_file("/Cameras/a.mp4", data)
    async with connected(fake) as dropbox:
        [file] = (await dropbox.changes(None)).files
        fake.cut_next_download(after=2_500_000)
        got = bytearray()
        with pytest.raises(DeviceError) as cut:
            async for chunk in dropbox.open(file):
                got += chunk
        assert is_transient(cut.value) and 0 < len(got) <= 2_500_000
        rest = await read(dropbox, file, offset=len(got))
    assert bytes(got) + rest == data
    assert fake.download_headers[-1]["Range"] == f"bytes={len(got)}-"


async def test_bytes_of_a_newer_version_are_never_spliced_on(fake: FakeDropbox) -> None:
    fake.add_file("/Cameras/a.mp4", b"1" * 5000)
    async with connected(fake) as dropbox:
        [file] = (await dropbox.changes(None)).files
        fake.add_file("/Cameras/a.mp4", b"2" * 5000)  # replaced between listing and download
        for offset in (0, 2500):
            with pytest.raises(DeviceError) as changed:
                await read(dropbox, file, offset)
            assert changed.value.kind == "not_found" and "changed after it was listed" in str(changed.value)
        [newer] = (await dropbox.changes(None)).files
        assert newer.id == file.id and await read(dropbox, newer) == b"2" * 5000


async def test_a_whole_download_is_checked_against_the_content_hash(fake: FakeDropbox) -> None:
    fake.add_file("/Cameras/a.mp4", os.urandom(50_000))
    async with connected(fake) as dropbox:
        [file] = (await dropbox.changes(None)).files
        fake.corrupt_next_download()
        with pytest.raises(DeviceError) as corrupt:
            await read(dropbox, file)
        assert "different content hash" in str(corrupt.value) and is_transient(corrupt.value)
        assert len(await read(dropbox, file)) == 50_000  # the next try is whole


async def test_a_deleted_file_is_not_found(fake: FakeDropbox) -> None:
    fake.add_file("/Cameras/a.mp4", b"a")
    async with connected(fake) as dropbox:
        [file] = (await dropbox.changes(None)).files
        fake.delete("/Cameras/a.mp4")
        with pytest.raises(DeviceError) as gone:
            await read(dropbox, file)
    assert gone.value.kind == "not_found" and "path/not_found" in gone.value.message


def test_the_api_arg_header_is_ascii() -> None:
    header = api_arg({"path": "/Cửa hàng/\x7f.mp4"})
    assert header.isascii() and "\x7f" not in header
    assert json.loads(header) == {"path": "/Cửa hàng/\x7f.mp4"}


# -- errors as Dropbox answers them -------------------------------------------------------------------------


async def test_a_missing_root_is_not_found(fake: FakeDropbox) -> None:
    fake.add_file("/Cameras", b"a file, not a folder")
    for root, tag in (("/nope", "path/not_found"), ("/Cameras", "path/not_folder")):
        async with connected(fake, root=root) as dropbox:
            with pytest.raises(DeviceError) as missing:
                await dropbox.changes(None)
        assert missing.value.kind == "not_found" and tag in missing.value.message


async def test_a_refused_token_is_an_auth_error(fake: FakeDropbox) -> None:
    fake.add_file("/Cameras/a.mp4", b"a")
    async with connected(fake, tokens=StaticToken("not-a-token")) as dropbox:
        with pytest.raises(DeviceError) as invalid:
            await dropbox.changes(None)
    assert invalid.value.kind == "auth"
    static = StaticToken(fake.token())
    fake.expire_tokens()
    async with connected(fake, tokens=static) as dropbox:
        with pytest.raises(DeviceError) as expired:
            await dropbox.account()
    assert expired.value.kind == "auth" and not is_transient(expired.value)


@pytest.mark.parametrize(
    ("status", "reason"), [(429, "too_many_requests"), (429, "too_many_write_operations"), (503, "")]
)
async def test_throttling_waits_what_retry_after_says(fake: FakeDropbox, status: int, reason: str) -> None:
    fake.add_file("/Cameras/a.mp4", b"a" * 100)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with connected(fake, sleep=sleep) as dropbox:
        fake.throttle(2, retry_after=7, reason=reason, status=status)
        [file] = (await dropbox.changes(None)).files
        fake.throttle(1, retry_after=3, reason=reason, status=status)
        assert await read(dropbox, file) == b"a" * 100
        assert waits == [7, 7, 3] and dropbox.http.throttled == 3
        fake.throttle(10, retry_after=1, reason=reason, status=status)
        with pytest.raises(DeviceError) as gave_up:
            await dropbox.changes(None)
    assert gave_up.value.kind in {"throttled", "unreachable"} and is_transient(gave_up.value)


def test_error_summaries_match_by_prefix_only() -> None:
    assert error_tags(
        {"error_summary": "path/not_found/...", "error": {".tag": "path", "path": {".tag": "not_found"}}}
    ) == [
        "path",
        "not_found",
    ]
    assert error_tags({"error_summary": "reset/.."}) == ["reset"]
    assert error_tags("not an object") == []


def test_the_declared_rate_is_conservative() -> None:
    assert DropboxConnector.rate_limit.requests_per_second <= 20
    assert DropboxConnector.rate_limit.concurrent_downloads == 4
