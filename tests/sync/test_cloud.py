"""The cloud sync engine over a real folder connector: pages overlap, the cursor trails what is settled,
and a failure or a kill loses nothing and fetches nothing twice."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from vtrack.archive.disk import DiskGuard
from vtrack.archive.layout import ArchiveLayout
from vtrack.db.models import CloudFile, SyncStatus, VideoSource
from vtrack.db.session import Database
from vtrack.devices.errors import DeviceError
from vtrack.sources.base import ChangePage, Connector, Folder, RateLimit, RemoteFile
from vtrack.sources.local import LocalFolderConnector
from vtrack.sync.cloud import CloudOptions, CloudSyncEngine
from vtrack.sync.engine import SyncAuthError, SyncRequest
from vtrack.sync.retry import RetryPolicy

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
FILES = 10  # pages of 3: four listings


class Watched:
    """The folder connector, with listings logged and chosen downloads held back or refused."""

    rate_limit = RateLimit(requests_per_second=1000.0, concurrent_downloads=4)

    def __init__(self, root: Path) -> None:
        self.inner = LocalFolderConnector(root, settle=timedelta(0))
        self.listed: list[str | None] = []
        self.opened: list[str] = []
        self.hold: dict[str, asyncio.Event] = {}
        self.refuse: set[str] = set()

    async def changes(self, cursor: str | None, page_size: int = 1000) -> ChangePage:
        self.listed.append(cursor)
        return await self.inner.changes(cursor, page_size)

    async def open(self, file: RemoteFile, offset: int = 0) -> AsyncIterator[bytes]:
        self.opened.append(file.id)
        if file.id in self.refuse:
            raise DeviceError("the provider revoked the token", "auth")
        if file.id in self.hold:
            await self.hold[file.id].wait()
        async for chunk in self.inner.open(file, offset):
            yield chunk

    async def refresh(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def account(self) -> str:
        return await self.inner.account()

    async def list_folders(self, parent: str | None) -> list[Folder]:
        return await self.inner.list_folders(parent)


def clip(n: int) -> str:
    return f"cam{n % 2}/{n:03d}.mp4"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "exports"
    for n in range(FILES):
        path = root / clip(n)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(1000 + n))
        os.utime(path, (NOW.timestamp() - 3600 + n, NOW.timestamp() - 3600 + n))  # listing order = n
    return root


async def make_source(database: Database) -> str:
    async with database.transaction() as session:
        source = VideoSource(name="Exports", source_type="local", config={})
        session.add(source)
        await session.flush()
        return source.id


def make_engine(database: Database, root: Path, connector: Watched) -> CloudSyncEngine:
    async def connector_for(_source: VideoSource) -> Connector:
        return connector

    root.mkdir(parents=True, exist_ok=True)
    return CloudSyncEngine(
        database,
        connector_for,
        ArchiveLayout(root, "Asia/Ho_Chi_Minh"),
        DiskGuard(root, reserve_bytes=0, reserve_inodes=0),
        CloudOptions(concurrency=4, page_size=3, retry=RetryPolicy(attempts=2, base_seconds=0.001)),
    )


async def cursor_of(database: Database, source_id: str) -> str | None:
    async with database.session() as session:
        status = await session.get(SyncStatus, source_id)
        return status.cursor if status is not None else None


async def states(database: Database, source_id: str) -> dict[str, str]:
    async with database.session() as session:
        rows = (await session.execute(select(CloudFile).where(CloudFile.source_id == source_id))).scalars()
        return {row.remote_id: row.state for row in rows}


def archived(root: Path) -> dict[str, bytes]:
    base = root / "Exports"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()}


def request(source_id: str) -> SyncRequest:
    return SyncRequest(source_id, NOW - timedelta(days=1), NOW)


async def test_the_next_page_is_listed_while_this_one_downloads_and_the_cursor_waits(
    database: Database, folder: Path, tmp_path: Path
) -> None:
    source_id = await make_source(database)
    connector = Watched(folder)
    connector.hold[clip(0)] = asyncio.Event()
    run = asyncio.create_task(make_engine(database, tmp_path / "archive", connector).run(request(source_id)))
    for _ in range(200):
        if len(connector.listed) >= 2:
            break
        await asyncio.sleep(0.01)
    assert connector.listed[:2] == [None, "3"]  # page 2 listed while page 1's first clip is held
    assert await cursor_of(database, source_id) is None  # nothing saved past an unsettled page
    assert len(connector.listed) == 2  # and no further than one page ahead
    connector.hold[clip(0)].set()
    outcome = await run
    assert outcome.chunks_done == FILES and not outcome.chunks_failed
    assert connector.listed == [None, "3", "6", "9"]
    assert await cursor_of(database, source_id) == ""  # the pass ended
    assert archived(tmp_path / "archive") == {clip(n): (folder / clip(n)).read_bytes() for n in range(FILES)}
    again = await make_engine(database, tmp_path / "archive", Watched(folder)).run(request(source_id))
    assert again.chunks_planned == 0


async def test_an_auth_failure_keeps_the_cursor_before_its_page_and_records_what_finished(
    database: Database, folder: Path, tmp_path: Path
) -> None:
    source_id = await make_source(database)
    connector = Watched(folder)
    connector.refuse.add(clip(4))  # page 2
    with pytest.raises(SyncAuthError, match="revoked"):
        await make_engine(database, tmp_path / "archive", connector).run(request(source_id))
    saved = await cursor_of(database, source_id)
    assert saved in (None, "3")  # at most past page 1, never past the page that failed
    done_before = {name for name, state in (await states(database, source_id)).items() if state == "done"}
    assert {clip(0), clip(1), clip(2)} <= done_before  # downloads already going were finished and kept

    fixed = Watched(folder)
    outcome = await make_engine(database, tmp_path / "archive", fixed).run(request(source_id))
    assert not outcome.chunks_failed
    assert not set(fixed.opened) & done_before  # nothing fetched twice
    assert set(await states(database, source_id)) == {clip(n) for n in range(FILES)}
    assert set((await states(database, source_id)).values()) == {"done"}
    assert len(archived(tmp_path / "archive")) == FILES


async def test_a_run_cancelled_midway_resumes_without_duplicates_or_leftovers(
    database: Database, folder: Path, tmp_path: Path
) -> None:
    source_id = await make_source(database)
    connector = Watched(folder)
    connector.hold[clip(4)] = asyncio.Event()  # never set: the run is cancelled while it waits
    run = asyncio.create_task(make_engine(database, tmp_path / "archive", connector).run(request(source_id)))
    for _ in range(200):
        if clip(4) in connector.opened:
            break
        await asyncio.sleep(0.01)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert await cursor_of(database, source_id) in (None, "3")

    resumed = Watched(folder)
    outcome = await make_engine(database, tmp_path / "archive", resumed).run(request(source_id))
    assert not outcome.chunks_failed
    assert len(resumed.opened) == len(set(resumed.opened))
    assert set((await states(database, source_id)).values()) == {"done"}
    assert archived(tmp_path / "archive") == {clip(n): (folder / clip(n)).read_bytes() for n in range(FILES)}
    leftovers = [p.name for p in (tmp_path / "archive").rglob(".*.part")]
    assert leftovers == []
