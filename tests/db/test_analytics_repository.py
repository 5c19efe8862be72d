"""Analytics queries on SQLite and PostgreSQL, and the timezone bucketing of counts.

Rows are inserted through the models, as the live sink would write them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from vtrack.analytics.site_config import parse_site
from vtrack.db.models import AnalyticsChannel, AnalyticsCount, AnalyticsEvent, AnalyticsRun, AnalyticsTrack
from vtrack.db.repositories.analytics import (
    AnalyticsRepository,
    ChannelRepository,
    CountBucket,
    EventFilter,
    bucket_start,
    rollup,
    whole_hour_offsets,
)
from vtrack.db.session import Database

T0 = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 23:00 in Ho Chi Minh City (+07:00)
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def _run(run_id: str, channel_id: str | None, started: datetime, **extra: object) -> AnalyticsRun:
    fields: dict[str, object] = {"kind": "live", "source": "rtsp://10.0.0.1/x", "status": "running"}
    fields.update(extra)
    return AnalyticsRun(id=run_id, channel_id=channel_id, started_at=started, **fields)


def _count(run_id: str, channel_id: str, minute: datetime, kind: str, name: str, *n: float) -> AnalyticsCount:
    in_count, out_count, dwell, male, female = n
    return AnalyticsCount(
        run_id=run_id,
        channel_id=channel_id,
        minute=minute,
        kind=kind,
        name=name,
        in_count=int(in_count),
        out_count=int(out_count),
        dwell_total=dwell,
        male_in=int(male),
        female_in=int(female),
    )


async def _seed(database: Database) -> None:
    async with database.transaction() as session:
        session.add_all(
            [
                AnalyticsChannel(id="ch-a", name="A", lines=[], zones=[]),
                AnalyticsChannel(id="ch-b", name="B", lines=[], zones=[]),
            ]
        )
        await session.flush()
        session.add_all(
            [_run("r1", "ch-a", T0), _run("r2", "ch-a", T0 + timedelta(hours=1)), _run("r3", "ch-b", T0)]
        )
        await session.flush()
        session.add_all(
            [
                # Two runs of one channel in the same minute: the API sums them.
                _count("r1", "ch-a", T0 + timedelta(minutes=59), "line", "door", 3, 1, 0, 1, 1),
                _count("r2", "ch-a", T0 + timedelta(minutes=59), "line", "door", 2, 0, 0, 0, 1),
                _count("r2", "ch-a", T0 + timedelta(minutes=61), "line", "door", 4, 2, 0, 2, 0),
                _count("r2", "ch-a", T0 + timedelta(minutes=62), "zone", "till", 2, 2, 90.0, 1, 1),
                _count("r3", "ch-b", T0 + timedelta(minutes=5), "line", "door", 7, 7, 0, 0, 0),
                _count(
                    "r3", "ch-b", T0 + timedelta(hours=5), "line", "door", 100, 0, 0, 0, 0
                ),  # out of range
            ]
        )


def _key(row: CountBucket) -> tuple[object, ...]:
    return (row.bucket, row.channel_id, row.kind, row.name, row.in_count, row.out_count, row.male_in)


async def test_counts_sum_runs_per_minute_and_per_utc_hour(database: Database) -> None:
    await _seed(database)
    async with database.session() as session:
        repo = AnalyticsRepository(session)
        until = T0 + timedelta(hours=2)
        minutes = sorted(await repo.counts(T0, until), key=_key)
        assert [_key(r) for r in minutes] == [
            (T0 + timedelta(minutes=5), "ch-b", "line", "door", 7, 7, 0),
            (T0 + timedelta(minutes=59), "ch-a", "line", "door", 5, 1, 1),
            (T0 + timedelta(minutes=61), "ch-a", "line", "door", 4, 2, 2),
            (T0 + timedelta(minutes=62), "ch-a", "zone", "till", 2, 2, 1),
        ]
        assert all(r.bucket is not None and r.bucket.tzinfo is not None for r in minutes)
        hours = sorted(await repo.counts(T0, until, "ch-a", by_hour=True), key=_key)
        assert [_key(r) for r in hours] == [
            (T0, "ch-a", "line", "door", 5, 1, 1),
            (T0 + timedelta(hours=1), "ch-a", "line", "door", 4, 2, 2),
            (T0 + timedelta(hours=1), "ch-a", "zone", "till", 2, 2, 1),
        ]
        assert hours[2].dwell_total == 90.0 and hours[0].female_in == 2
        # [since, until): the minute at `until` is left out.
        assert await repo.counts(T0 + timedelta(minutes=6), T0 + timedelta(minutes=59)) == []


async def test_runs_sizes_tracks_and_events(database: Database) -> None:
    await _seed(database)
    async with database.transaction() as session:
        for track_id in (3, 1, 2):
            session.add(
                AnalyticsTrack(
                    run_id="r1", track_id=track_id, first_seen=T0, last_seen=T0, frames=track_id, path=[]
                )
            )
        for minute, kind, name, run in [
            (1, "line", "door", "r1"),
            (2, "zone_enter", "till", "r1"),
            (3, "line", "door", "r2"),
        ]:
            session.add(
                AnalyticsEvent(
                    run_id=run,
                    channel_id="ch-a",
                    at=T0 + timedelta(minutes=minute),
                    kind=kind,
                    name=name,
                    direction="in" if kind == "line" else None,
                    track_id=minute,
                )
            )
    async with database.session() as session:
        repo = AnalyticsRepository(session)
        runs = await repo.runs(1, 10, "ch-a")
        assert [r.id for r in runs.items] == ["r2", "r1"] and runs.total == 2  # latest started first
        assert await repo.run_sizes(["r1", "r2", "r3"]) == {"r1": (3, 2), "r2": (0, 1), "r3": (0, 0)}
        tracks = await repo.tracks("r1", 1, 2)
        assert [t.track_id for t in tracks.items] == [1, 2] and tracks.total == 3
        events = await repo.events(EventFilter(channel_id="ch-a"), 1, 10)
        assert [e.track_id for e in events.items] == [3, 2, 1]  # newest first
        doors = await repo.events(EventFilter(kind="line", name="door", run_id="r1"), 1, 10)
        assert [e.track_id for e in doors.items] == [1]
        window = EventFilter(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=3))
        assert [e.track_id for e in (await repo.events(window, 1, 10)).items] == [2]


async def test_site_upsert_matches_by_site_and_external_id(database: Database) -> None:
    site = parse_site(
        {
            "site": "shop",
            "host": "10.0.0.1",
            "channels": [
                {"id": "c1", "lines": [{"points": [[0, 0.5], [1, 0.5]]}]},
                {"id": "c2", "enabled": False},
            ],
        }
    )
    async with database.transaction() as session:
        repo = ChannelRepository(session)
        other = AnalyticsChannel(name="SHOP/C2", lines=[], zones=[])  # another channel holds c2's name
        session.add(other)
        await session.flush()
        assert await repo.name_conflicts(site) == [1]
        other.name = "elsewhere"
        await session.flush()
        assert await repo.name_conflicts(site) == []
        planned = await repo.upsert_site(site, lambda p: p, dry_run=True)
        assert [(i.action, i.channel) for i in planned] == [("create", None), ("create", None)]
        assert await repo.of_site("shop") == {}
        done = await repo.upsert_site(site, lambda p: None if p is None else f"enc:{p}")
        assert [i.action for i in done] == ["create", "create"]
        stored = await repo.of_site("shop")
        assert stored["c1"].url == "rtsp://10.0.0.1:554/cam/realmonitor?channel=1&subtype=0"
        assert stored["c1"].enabled is True and stored["c2"].enabled is False
        assert stored["c1"].lines == [
            {"name": "line1", "points": [[0.0, 0.5], [1.0, 0.5]], "hysteresis": 0.02}
        ]
        # Re-import without lines and enabled: both are kept, the connection is replaced.
        again = parse_site({"site": "shop", "host": "10.0.0.2", "channels": [{"id": "c1", "name": "Front"}]})
        assert await repo.name_conflicts(again) == []
        (item,) = await repo.upsert_site(again, lambda p: p)
        assert item.action == "update" and item.channel is stored["c1"]
        assert stored["c1"].name == "Front" and stored["c1"].url.startswith("rtsp://10.0.0.2:554/")
        assert len(stored["c1"].lines) == 1 and stored["c1"].enabled is True
        assert await repo.ids_by_name(["FRONT", "nope"]) == {"front": stored["c1"].id}
        page = await repo.search(1, 10, q="fro")
        assert [c.name for c in page.items] == ["Front"]


def test_day_buckets_start_at_local_midnight() -> None:
    before = datetime(2026, 3, 1, 16, 59, tzinfo=UTC)  # 23:59 on March 1st in HCM
    after = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 00:00 on March 2nd
    assert bucket_start(before, "day", HCM).isoformat() == "2026-03-01T00:00:00+07:00"
    assert bucket_start(after, "day", HCM).isoformat() == "2026-03-02T00:00:00+07:00"
    assert bucket_start(before, "hour", HCM).isoformat() == "2026-03-01T23:00:00+07:00"
    assert bucket_start(before, "minute", HCM).isoformat() == "2026-03-01T23:59:00+07:00"
    rows = [
        CountBucket(before, "ch", "line", "door", 2, 1, 0.0, 1, 0),
        CountBucket(after, "ch", "line", "door", 5, 0, 0.0, 0, 3),
        CountBucket(after + timedelta(hours=3), "ch", "line", "door", 1, 1, 0.0, 0, 0),
    ]
    buckets, totals = rollup(rows, "day", HCM)
    assert [(b.bucket.isoformat() if b.bucket else None, b.in_count, b.female_in) for b in buckets] == [
        ("2026-03-01T00:00:00+07:00", 2, 0),
        ("2026-03-02T00:00:00+07:00", 6, 3),
    ]
    assert [(t.bucket, t.in_count, t.out_count, t.male_in, t.female_in) for t in totals] == [
        (None, 8, 2, 1, 3)
    ]


def test_dst_and_half_hour_zones() -> None:
    new_york = ZoneInfo("America/New_York")
    # 2026-11-01: 01:00-02:00 EDT happens, then 01:00-02:00 EST again. Two hours, two buckets.
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    buckets, _ = rollup([CountBucket(t, "c", "line", "l", 1) for t in (first, second)], "hour", new_york)
    assert [b.bucket.isoformat() if b.bucket else "" for b in buckets] == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",
    ]
    # That day is 25 hours long and still one bucket.
    day, _ = rollup(
        [CountBucket(t, "c", "line", "l", 1) for t in (first, second + timedelta(hours=20))], "day", new_york
    )
    assert len(day) == 1 and day[0].in_count == 2
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30: UTC hours are not local hours
    assert bucket_start(datetime(2026, 1, 1, 0, 10, tzinfo=UTC), "hour", kolkata).isoformat() == (
        "2026-01-01T05:00:00+05:30"
    )
    assert not whole_hour_offsets(kolkata, T0, T0 + timedelta(days=1))
    assert whole_hour_offsets(new_york, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    assert whole_hour_offsets(HCM, T0, T0)
