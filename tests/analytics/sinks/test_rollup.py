"""The per-minute roll-up, recomputed from events for exactly the minutes asked for (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import delete, select, update

from vtrack.analytics.sinks.rollup import minute_of, reroll
from vtrack.db.models import AnalyticsCount, AnalyticsEvent, AnalyticsRun
from vtrack.db.session import Database
from vtrack.db.types import new_id

M1 = datetime(2024, 5, 1, 23, 59, tzinfo=UTC)
M2 = M1 + timedelta(minutes=1)  # the next day, in UTC
M3 = M1 + timedelta(minutes=2)


def test_minute_of_truncates_in_utc() -> None:
    local = datetime(2024, 5, 2, 7, 0, 59, 999_999, tzinfo=timezone(timedelta(hours=7)))
    assert minute_of(local) == datetime(2024, 5, 2, 0, 0, tzinfo=UTC)
    assert minute_of(M1 + timedelta(seconds=59.9)) == M1


async def make_run(database: Database) -> str:
    run_id = new_id()
    async with database.transaction() as session:
        session.add(
            AnalyticsRun(
                id=run_id, kind="file", source="x", status="running", started_at=M1, config={}, summary={}
            )
        )
    return run_id


def ev(run_id: str, at: datetime, kind: str, name: str, **values: object) -> AnalyticsEvent:
    return AnalyticsEvent(run_id=run_id, channel_id=None, at=at, kind=kind, name=name, track_id=1, **values)


async def rollup(database: Database, run_id: str) -> dict[tuple[datetime, str, str], tuple[object, ...]]:
    async with database.session() as session:
        rows = (await session.scalars(select(AnalyticsCount).where(AnalyticsCount.run_id == run_id))).all()
    return {
        (r.minute, r.kind, r.name): (r.in_count, r.out_count, r.dwell_total, r.male_in, r.female_in)
        for r in rows
    }


async def test_reroll_counts_lines_and_zones_per_minute(database: Database) -> None:
    run_id = await make_run(database)
    other = await make_run(database)
    s = timedelta(seconds=1)
    async with database.transaction() as session:
        session.add_all(
            [
                ev(run_id, M1 + 10 * s, "line", "door", direction="in", gender="male"),
                ev(run_id, M1 + 20 * s, "line", "door", direction="in", gender="female"),
                ev(run_id, M1 + 30 * s, "line", "door", direction="in", gender="unknown"),
                ev(run_id, M1 + 59 * s, "line", "door", direction="out", gender="male"),
                ev(run_id, M1 + 40 * s, "zone_enter", "queue", gender="female"),
                ev(run_id, M2 + 5 * s, "zone_exit", "queue", dwell_seconds=25.0, gender="female"),
                ev(run_id, M2 + 6 * s, "zone_exit", "queue", dwell_seconds=12.5, gender="male"),
                ev(other, M1 + 1 * s, "line", "door", direction="in", gender="male"),  # another run's
            ]
        )
        await session.flush()
        await reroll(session, run_id, None, [M1, M2])
    assert await rollup(database, run_id) == {
        (M1, "line", "door"): (3, 1, 0.0, 1, 1),  # genders count arrivals only
        (M1, "zone", "queue"): (1, 0, 0.0, 0, 1),
        (M2, "zone", "queue"): (0, 2, 37.5, 0, 0),
    }
    assert await rollup(database, other) == {}


async def test_reroll_replaces_only_the_minutes_asked_for(database: Database) -> None:
    run_id = await make_run(database)
    s = timedelta(seconds=1)
    async with database.transaction() as session:
        session.add_all(
            [
                ev(run_id, M1 + s, "line", "door", direction="in"),
                ev(run_id, M2 + s, "line", "door", direction="in"),
                ev(run_id, M3 + s, "line", "door", direction="in"),
            ]
        )
        await session.flush()
        await reroll(session, run_id, None, [M1, M2, M3])
    # Corrections arrive for M1 and M3; M2 also changes in the events, but is not asked for.
    async with database.transaction() as session:
        await session.execute(
            update(AnalyticsEvent).where(AnalyticsEvent.run_id == run_id).values(gender="male")
        )
        session.add(ev(run_id, M2 + 2 * s, "line", "door", direction="out"))
        await session.flush()
        await reroll(session, run_id, None, [M3, M1, M1])
    assert await rollup(database, run_id) == {
        (M1, "line", "door"): (1, 0, 0.0, 1, 0),
        (M2, "line", "door"): (1, 0, 0.0, 0, 0),  # left as it was
        (M3, "line", "door"): (1, 0, 0.0, 1, 0),
    }
    # A minute whose events are all gone loses its row; nothing touched, nothing done.
    async with database.transaction() as session:
        await session.execute(delete(AnalyticsEvent).where(AnalyticsEvent.at >= M3))
        await reroll(session, run_id, None, [M3])
        await reroll(session, run_id, None, [])
    assert set(await rollup(database, run_id)) == {(M1, "line", "door"), (M2, "line", "door")}
