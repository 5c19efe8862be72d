"""Retention: old health samples and events go, recent ones stay, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from tests.health.fakes import add_cameras
from vtrack.db.models import CameraHealth, SystemEvent
from vtrack.db.repositories.events import EventRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.health.retention import prune_health


async def count(database: Database, model: type[CameraHealth] | type[SystemEvent]) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_prune_keeps_the_window(database: Database) -> None:
    ids = await add_cameras(database, 3)
    now = utcnow()
    ages = [1, 29, 31, 45, 100]  # days
    async with database.transaction() as session:
        await session.execute(
            insert(CameraHealth),
            [
                {
                    "camera_id": c,
                    "checked_at": now - timedelta(days=d),
                    "is_connected": True,
                    "status": "online",
                }
                for c in ids
                for d in ages
            ],
        )
        await EventRepository(session).add_many(
            [
                {
                    "kind": "camera.status_changed",
                    "subject_type": "camera",
                    "subject_id": ids[0],
                    "payload": {},
                    "at": now - timedelta(days=d),
                }
                for d in ages
            ]
        )
    result = await prune_health(database, history_days=30, event_days=90, clock=lambda: now)
    assert (result.samples, result.events) == (9, 1)
    assert await count(database, CameraHealth) == 6 and await count(database, SystemEvent) == 4
    async with database.session() as session:
        oldest = (await session.execute(select(func.min(CameraHealth.checked_at)))).scalar_one()
    assert oldest is not None and (now - oldest) < timedelta(days=30)

    again = await prune_health(database, history_days=30, event_days=None, clock=lambda: now)
    assert (again.samples, again.events) == (0, 0)


async def test_events_are_pruned_in_chunks(database: Database) -> None:
    old = utcnow() - timedelta(days=200)
    async with database.transaction() as session:
        await EventRepository(session).add_many(
            [
                {"kind": "k", "subject_type": "camera", "subject_id": str(n), "payload": {}, "at": old}
                for n in range(25)
            ]
        )
    async with database.transaction() as session:
        assert await EventRepository(session).prune_chunk(utcnow(), limit=10) == 10
    result = await prune_health(database, history_days=30)
    assert result.events == 15 and await count(database, SystemEvent) == 0
