"""Planning is pure: recorded time minus archived time, cut at a fixed grid and at local midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from vtrack.sync.plan import Wanted, merge, plan_chunks, subtract

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 16:00 in Ho Chi Minh City
TEN = timedelta(minutes=10)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def replay(camera: str = "cam", start: float = 0, end: float = 60, remote: str = "rec1") -> Wanted:
    return Wanted(camera, at(start), at(end), remote, "onvif_replay", "rtsp://nvr/replay/1")


def spans(chunks: list) -> list[tuple[float, float]]:  # type: ignore[type-arg]
    return [((c.start - T0).total_seconds() / 60, (c.end - T0).total_seconds() / 60) for c in chunks]


def test_a_fresh_hour_is_six_grid_aligned_chunks() -> None:
    chunks = plan_chunks([replay(start=3, end=60)], [], [], (at(0), at(60)), chunk=TEN, zone=HCM)
    assert spans(chunks) == [(3, 10), (10, 20), (20, 30), (30, 40), (40, 50), (50, 60)]


def test_nothing_new_plans_nothing_and_a_gap_is_refetched() -> None:
    first = plan_chunks([replay()], [], [], (at(0), at(60)), chunk=TEN, zone=HCM)
    done = [("cam", (c.start, c.end)) for c in first if c.start != at(20)]  # the 20-30 chunk failed
    assert spans(plan_chunks([replay()], done, [], (at(0), at(60)), chunk=TEN, zone=HCM)) == [(20, 30)]
    done_all = [("cam", (c.start, c.end)) for c in first]
    assert plan_chunks([replay()], done_all, [], (at(0), at(60)), chunk=TEN, zone=HCM) == []


def test_a_recording_that_grew_is_fetched_from_where_the_archive_stops() -> None:
    have = [("cam", (at(0), at(10))), ("cam", (at(10), at(17)))]  # the last run saw the recording end at 17
    chunks = plan_chunks([replay(end=35)], have, [], (at(0), at(35)), chunk=TEN, zone=HCM)
    assert spans(chunks) == [(17, 20), (20, 30), (30, 35)]


def test_chunks_break_at_local_midnight() -> None:
    midnight = datetime(2026, 11, 21, 0, 0, tzinfo=HCM).astimezone(UTC)  # 17:00 UTC
    segment = Wanted(
        "cam", midnight - timedelta(minutes=5), midnight + timedelta(minutes=5), "r", "onvif_replay", "u"
    )
    chunks = plan_chunks([segment], [], [], (segment.start, segment.end), chunk=timedelta(hours=1), zone=HCM)
    assert [(c.start, c.end) for c in chunks] == [(segment.start, midnight), (midnight, segment.end)]


def test_window_clips_and_slivers_are_dropped() -> None:
    chunks = plan_chunks([replay(start=0, end=60)], [], [], (at(15), at(25.5)), chunk=TEN, zone=HCM)
    assert spans(chunks) == [(15, 20), (20, 25.5)]
    have = [("cam", (at(0), at(59.99)))]  # 0.6 s left: not worth a file
    assert plan_chunks([replay()], have, [], (at(0), at(60)), chunk=TEN, zone=HCM) == []


def test_vendor_files_are_fetched_whole_once_per_remote_id() -> None:
    file = Wanted("cam", at(0), at(17), "/mnt/dvr/ch1/0000.dav", "http", "http://nvr/RPC_Loadfile/x", "dav")
    chunks = plan_chunks([file], [], [], (at(5), at(60)), chunk=TEN, zone=HCM)
    assert spans(chunks) == [(0, 17)]  # overlapping the window: the whole file
    assert plan_chunks([file], [], [("cam", file.remote_id)], (at(0), at(60)), chunk=TEN, zone=HCM) == []


def test_cameras_are_planned_apart() -> None:
    have = [("a", (at(0), at(60)))]
    chunks = plan_chunks([replay("a"), replay("b", end=10)], have, [], (at(0), at(60)), chunk=TEN, zone=HCM)
    assert [(c.camera_id, *span) for c, span in zip(chunks, spans(chunks), strict=True)] == [("b", 0, 10)]


def test_merge_and_subtract() -> None:
    assert merge([(at(5), at(10)), (at(0), at(6)), (at(20), at(30))]) == [(at(0), at(10)), (at(20), at(30))]
    assert subtract((at(0), at(30)), [(at(5), at(10)), (at(20), at(40))]) == [
        (at(0), at(5)),
        (at(10), at(20)),
    ]
