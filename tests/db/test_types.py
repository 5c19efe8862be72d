"""UTCDateTime on SQLite and PostgreSQL: aware UTC in, the same instant as aware UTC out, naive refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from vtrack.db.models import JobRun
from vtrack.db.session import Database

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


async def test_aware_times_come_back_as_the_same_instant_in_utc(database: Database) -> None:
    local = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=HANOI)  # 2024-01-01 20:04:05.123456 UTC
    async with database.transaction() as session:
        run = JobRun(name="t", params={}, started_at=local, finished_at=local.astimezone(UTC))
        session.add(run)
    async with database.session() as session:
        stored = await session.get(JobRun, run.id)
        assert stored is not None
        assert stored.started_at == local
        assert stored.started_at is not None and stored.started_at.tzinfo is UTC
        assert stored.started_at.replace(tzinfo=None) == datetime(2024, 1, 1, 20, 4, 5, 123456)  # noqa: DTZ001
        assert stored.finished_at == stored.started_at
        assert stored.created_at.tzinfo is UTC


async def test_comparisons_in_sql_use_the_instant_not_the_wall_clock(database: Database) -> None:
    # 08:00 in Hanoi is 01:00 UTC, earlier than 02:00 UTC although its wall-clock reading is later.
    early = datetime(2024, 5, 1, 8, 0, tzinfo=HANOI)
    late = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
    async with database.transaction() as session:
        session.add_all([JobRun(name="early", started_at=early), JobRun(name="late", started_at=late)])
    async with database.session() as session:
        ordered = (await session.execute(select(JobRun.name).order_by(JobRun.started_at))).scalars().all()
        before = await session.execute(
            select(JobRun.name).where(JobRun.started_at < late - timedelta(minutes=30))
        )
    assert list(ordered) == ["early", "late"]
    assert before.scalars().all() == ["early"]


async def test_naive_datetimes_are_refused(database: Database) -> None:
    naive = datetime(2024, 1, 2, 3, 4, 5)  # noqa: DTZ001
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.transaction() as session:
            session.add(JobRun(name="t", started_at=naive))
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.session() as session:
            await session.execute(select(JobRun).where(JobRun.created_at < naive))
    async with database.session() as session:
        assert (await session.execute(select(JobRun))).first() is None
