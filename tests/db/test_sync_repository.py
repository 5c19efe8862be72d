"""Sync status rows are made on first use, by whichever of two racing writers asks first."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import SyncStatus, VideoSource
from vtrack.db.repositories.sync import SyncRepository
from vtrack.db.session import Database


async def test_the_status_row_of_a_racing_writer_is_used_not_a_conflict(database: Database) -> None:
    async with database.transaction() as session:
        source = VideoSource(name="NVR", source_type="nvr", host="127.0.0.2")
        session.add(source)
    async with database.transaction() as session:
        real_get = AsyncSession.get
        calls = 0

        async def get_before_the_other_commits(self: AsyncSession, *args: Any, **kwargs: Any) -> Any:
            """The first look misses the row the other writer commits right after it."""
            nonlocal calls
            calls += 1
            if calls == 1:
                async with database.transaction() as other:
                    other.add(
                        SyncStatus(source_id=source.id, enabled=False, interval_seconds=60, state="idle")
                    )
                return None
            return await real_get(self, *args, **kwargs)

        session.get = get_before_the_other_commits.__get__(session)  # type: ignore[method-assign]
        status = await SyncRepository(session).status(source.id)
        assert (status.enabled, status.interval_seconds) == (False, 60)  # the winner's row, kept
        status.state = "running"  # and this transaction goes on to use it
    async with database.session() as session:
        assert (await SyncRepository(session).status(source.id)).state == "running"
