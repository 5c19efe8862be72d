"""RunWriter on SQLite and PostgreSQL: batched background flushes, gender corrections, close, outages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from vtrack.analytics.sinks.db_writer import RunWriter
from vtrack.analytics.track_log import TrackRecord
from vtrack.analytics.types import Attributes, CountEvent
from vtrack.db.models import AnalyticsCount, AnalyticsEvent, AnalyticsRun, AnalyticsTrack
from vtrack.db.session import Database
from vtrack.events.bus import EventBus

M1 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
M2 = datetime(2024, 5, 1, 10, 1, tzinfo=UTC)
T1 = M1.timestamp()


def line(track_id: int, at: float, direction: str = "in", name: str = "door") -> CountEvent:
    return CountEvent("line", name, track_id, at, direction)


def zone(kind: str, track_id: int, at: float, dwell: float | None = None) -> CountEvent:
    return CountEvent(kind, "queue", track_id, at, dwell_seconds=dwell)


def record(track_id: int, first: float, last: float, gender: str = "unknown") -> TrackRecord:
    return TrackRecord(
        track_id,
        first,
        last,
        frames=25,
        path=[(0.0, 10.0, 20.0), (0.5, 12.0, 21.0)],
        attributes=Attributes(
            gender, 0.8768 if gender != "unknown" else 0.0, 30.0 if gender != "unknown" else None, 3
        ),
    )


async def rows(database: Database, model: Any, run_id: str) -> list[Any]:
    async with database.session() as session:
        return list(
            (await session.scalars(select(model).where(model.run_id == run_id).order_by(model.id))).all()
        )


async def count(database: Database, model: Any, run_id: str) -> int:
    async with database.session() as session:
        return int(
            await session.scalar(select(func.count()).select_from(model).where(model.run_id == run_id)) or 0
        )


async def until(check: Callable[[], Any], within: float = 5.0) -> None:
    """Poll an async check until it holds: the writer flushes on its own schedule."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def counts_by_key(
    database: Database, run_id: str
) -> dict[tuple[datetime, str, str], tuple[float, ...]]:
    result: dict[tuple[datetime, str, str], tuple[float, ...]] = {}
    for row in await rows(database, AnalyticsCount, run_id):
        key = (row.minute, row.kind, row.name)
        assert key not in result, f"duplicate roll-up row {key}"
        result[key] = (row.in_count, row.out_count, round(row.dwell_total, 3), row.male_in, row.female_in)
    return result


async def test_submissions_from_a_thread_are_batched_and_flushed_in_the_background(
    database: Database,
) -> None:
    writer = RunWriter(database, flush_interval=0.05)
    commits: list[float] = []
    event.listen(database.engine.sync_engine, "commit", lambda _conn: commits.append(time.monotonic()))
    run_id = await writer.open("file", "/videos/a.mp4", None, {"detector": "yolox"})

    def produce() -> None:  # the analysis thread's side: never waits for the database
        for i in range(200):
            genders = {i: "male"} if i % 2 else {}
            writer.submit([line(i, T1 + i * 0.1)], genders, [], time.monotonic())

    before = len(commits)
    await asyncio.to_thread(produce)

    async def all_written() -> bool:
        return await count(database, AnalyticsEvent, run_id) == 200

    await until(all_written)
    assert 1 <= len(commits) - before <= 20, "200 submissions should share a few transactions"
    events = await rows(database, AnalyticsEvent, run_id)
    assert sorted(e.track_id for e in events) == list(range(200))
    assert {e.track_id: e.gender for e in events} == {i: "male" if i % 2 else "unknown" for i in range(200)}
    assert all(e.at.tzinfo is UTC for e in events)
    assert events[5].at == datetime.fromtimestamp(T1 + 0.5, UTC)
    # 20 s of crossings, all inside minute M1.
    assert await counts_by_key(database, run_id) == {(M1, "line", "door"): (200, 0, 0.0, 100, 0)}
    await writer.close("finished", {})
    assert writer.events_written == 200


async def test_tracks_alone_wait_for_a_full_batch_or_the_interval(database: Database) -> None:
    writer = RunWriter(database, flush_interval=30.0, max_batch=3)
    run_id = await writer.open("file", "/videos/a.mp4", None, {})
    writer.submit([], {}, [record(1, T1, T1 + 2), record(2, T1, T1 + 3)], time.monotonic())
    await asyncio.sleep(0.3)
    assert await count(database, AnalyticsTrack, run_id) == 0  # no event waiting: no hurry
    writer.submit([], {}, [record(3, T1, T1 + 4)], time.monotonic())

    async def written() -> bool:
        return await count(database, AnalyticsTrack, run_id) == 3

    await until(written, within=3.0)  # a full batch is written well before the 30 s interval
    await writer.close("finished", {})


async def test_a_finished_track_corrects_its_earlier_events_and_their_minutes(database: Database) -> None:
    bus = EventBus()
    subscription = bus.subscribe(["analytics.*"])
    writer = RunWriter(database, bus=bus, flush_interval=0.05)
    run_id = await writer.open("live", "rtsp://cam/1", None, {})
    # Minute M1: track 1 crosses in (gender not known yet), track 2 enters the queue, looking male so far.
    writer.submit([line(1, T1 + 50), zone("zone_enter", 2, T1 + 55)], {2: "male"}, [], time.monotonic())

    async def first_written() -> bool:
        return await count(database, AnalyticsEvent, run_id) == 2

    await until(first_written)
    assert await counts_by_key(database, run_id) == {
        (M1, "line", "door"): (1, 0, 0.0, 0, 0),
        (M1, "zone", "queue"): (1, 0, 0.0, 1, 0),
    }
    # Minute M2: track 1 crosses back out, track 2 leaves after 35 s; both end, and both turn out female.
    writer.submit(
        [line(1, T1 + 70, "out"), zone("zone_exit", 2, T1 + 90, dwell=35.0)],
        {1: "unknown", 2: "male"},
        [record(1, T1 + 45, T1 + 75, "female"), record(2, T1 + 52, T1 + 92, "female")],
        time.monotonic(),
        {"lines": {"door": {"in": 1, "out": 1}}},
    )

    async def tracks_written() -> bool:
        return await count(database, AnalyticsTrack, run_id) == 2

    await until(tracks_written)
    events = await rows(database, AnalyticsEvent, run_id)
    assert [(e.kind, e.track_id, e.gender) for e in events] == [
        ("line", 1, "female"),
        ("zone_enter", 2, "female"),
        ("line", 1, "female"),
        ("zone_exit", 2, "female"),
    ]
    assert await counts_by_key(database, run_id) == {
        (M1, "line", "door"): (1, 0, 0.0, 0, 1),
        (M1, "zone", "queue"): (1, 0, 0.0, 0, 1),  # the male arrival became a female one
        (M2, "line", "door"): (0, 1, 0.0, 0, 0),
        (M2, "zone", "queue"): (0, 1, 35.0, 0, 0),  # exits carry the dwell; arrivals carry the gender
    }
    tracks = await rows(database, AnalyticsTrack, run_id)
    assert [(t.track_id, t.gender, t.gender_confidence, t.age, t.frames) for t in tracks] == [
        (1, "female", 0.877, 30.0, 25),
        (2, "female", 0.877, 30.0, 25),
    ]
    assert tracks[0].first_seen == datetime.fromtimestamp(T1 + 45, UTC)
    assert tracks[0].last_seen == datetime.fromtimestamp(T1 + 75, UTC)
    assert tracks[0].path == [[0.0, 10.0, 20.0], [0.5, 12.0, 21.0]]

    published = [await subscription.get(within=2) for _ in range(5)]
    kinds = [e.kind for e in published]
    assert kinds.count("analytics.event") == 4 and kinds[-1] == "analytics.counts"
    assert published[-1].payload == {"runId": run_id, "lines": {"door": {"in": 1, "out": 1}}}
    assert published[0].payload["trackId"] == 1 and published[0].payload["runId"] == run_id
    await writer.close("finished", {})


async def test_close_marks_the_run_and_stores_the_summary(database: Database) -> None:
    writer = RunWriter(database, flush_interval=0.05)
    run_id = await writer.open("file", "/videos/a.mp4", None, {"stride": 2})
    async with database.session() as session:
        run = await session.get(AnalyticsRun, run_id)
        assert run is not None and (run.status, run.ended_at, run.summary) == ("running", None, {})
    writer.submit([line(1, T1 + 1)], {}, [record(1, T1, T1 + 2)], time.monotonic())
    await writer.close("finished", {"frames_processed": 10, "tracks": 1})
    assert await count(database, AnalyticsEvent, run_id) == 1  # close() flushed what was pending
    assert await count(database, AnalyticsTrack, run_id) == 1
    async with database.session() as session:
        run = await session.get(AnalyticsRun, run_id)
    assert run is not None
    assert (run.kind, run.source, run.status, run.error, run.config) == (
        "file",
        "/videos/a.mp4",
        "finished",
        None,
        {"stride": 2},
    )
    assert run.ended_at is not None and run.ended_at >= run.started_at
    assert run.summary == {"frames_processed": 10, "tracks": 1, "events_written": 1, "tracks_written": 1}

    failed = RunWriter(database, flush_interval=0.05)
    failed_id = await failed.open("file", "/videos/b.mp4", None, {})
    await failed.close("failed", {}, "x" * 5000)
    async with database.session() as session:
        run = await session.get(AnalyticsRun, failed_id)
    assert run is not None and run.status == "failed" and run.error == "x" * 1000


async def test_submit_before_open_is_an_error(database: Database) -> None:
    with pytest.raises(RuntimeError, match="before open"):
        RunWriter(database).submit([line(1, T1)], {}, [], 0.0)


async def rename_counts(database: Database, old: str, new: str) -> None:
    async with database.transaction() as session:
        await session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


async def test_a_failed_flush_keeps_its_rows_for_the_retry(database: Database) -> None:
    bus = EventBus()
    subscription = bus.subscribe(["analytics.counts"])
    writer = RunWriter(database, bus=bus, flush_interval=0.05)
    run_id = await writer.open("live", "rtsp://cam/1", None, {})
    writer.submit([line(1, T1 + 10)], {}, [], time.monotonic())

    async def first() -> bool:
        return await count(database, AnalyticsEvent, run_id) == 1

    await until(first)
    # The roll-up table goes away: every flush now fails inside its transaction.
    await rename_counts(database, "analytics_counts", "analytics_counts_away")
    try:
        for i in range(2, 6):
            writer.submit(
                [line(i, T1 + 20 + 5 * i, "out")], {}, [record(i - 1, T1, T1 + 60)], time.monotonic()
            )
            await asyncio.sleep(0.05)
        writer.submit([], {}, [], time.monotonic(), {"lines": {"door": {"in": 1, "out": 4}}})
        await asyncio.sleep(0.4)  # several failed attempts
        # Nothing of the failed batches is half-written: events, tracks and counts commit together.
        assert await count(database, AnalyticsEvent, run_id) == 1
        assert await count(database, AnalyticsTrack, run_id) == 0
    finally:
        await rename_counts(database, "analytics_counts_away", "analytics_counts")

    async def recovered() -> bool:
        return await count(database, AnalyticsTrack, run_id) == 4

    await until(recovered)
    writer.submit([line(9, T1 + 100)], {9: "male"}, [], time.monotonic())
    await writer.close("finished", {})
    events = await rows(database, AnalyticsEvent, run_id)
    assert [(e.track_id, e.direction) for e in events] == [
        (1, "in"),
        (2, "out"),
        (3, "out"),
        (4, "out"),
        (5, "out"),
        (9, "in"),
    ]
    assert sorted(t.track_id for t in await rows(database, AnalyticsTrack, run_id)) == [1, 2, 3, 4]
    assert await counts_by_key(database, run_id) == {
        (M1, "line", "door"): (1, 4, 0.0, 0, 0),
        (M2, "line", "door"): (1, 0, 0.0, 1, 0),
    }
    assert (writer.events_written, writer.tracks_written) == (6, 4)
    # The totals submitted during the outage are still published once the database is back.
    latest = await subscription.get(within=2)
    assert latest.payload["lines"] == {"door": {"in": 1, "out": 4}}
