"""The small rules behind the services: scope matching, durations, search sessions, the archive window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vtrack.simulator.config import default_cameras
from vtrack.simulator.onvif.archive import MAX_OPEN_SEARCHES, SearchSessions, archive_span, parse_duration
from vtrack.simulator.onvif.discovery import MATCH_BY_STRCMP0, scope_matches


@pytest.mark.parametrize(
    ("wanted", "offered", "match_by", "expected"),
    [
        ("onvif://www.onvif.org/name", "onvif://www.onvif.org/name/Front%20Door", None, True),
        ("onvif://www.onvif.org/name/Front", "onvif://www.onvif.org/name/Front%20Door", None, False),
        ("ONVIF://WWW.ONVIF.ORG/type", "onvif://www.onvif.org/type/video_encoder", None, True),
        ("onvif://www.onvif.org/Type", "onvif://www.onvif.org/type/video_encoder", None, False),
        ("onvif://www.onvif.org/type", "onvif://www.onvif.org/type/video_encoder", MATCH_BY_STRCMP0, False),
        ("onvif://www.onvif.org/type/x", "onvif://www.onvif.org/type/x", MATCH_BY_STRCMP0, True),
        ("onvif://www.onvif.org/type", "onvif://www.onvif.org/type/x", "urn:unknown-rule", False),
    ],
)
def test_scope_matching(wanted: str, offered: str, match_by: str | None, expected: bool) -> None:
    assert scope_matches(wanted, offered, match_by) is expected


def test_durations_clients_send() -> None:
    assert parse_duration("PT10S") == timedelta(seconds=10)
    assert parse_duration("P1DT2H3M4.5S") == timedelta(days=1, hours=2, minutes=3, seconds=4.5)
    assert parse_duration("PT") is None
    assert parse_duration("10 seconds") is None
    assert parse_duration(None) is None


def test_search_sessions_page_expire_and_are_bounded() -> None:
    cameras = default_cameras(3)
    sessions = SearchSessions()
    token = sessions.start(cameras, timedelta(seconds=30))
    assert token is not None
    assert sessions.next_results(token, 2) == (cameras[:2], False)
    assert sessions.next_results(token, 2) == (cameras[2:], True)
    assert sessions.end(token) and not sessions.end(token)
    expired = sessions.start(cameras, timedelta(seconds=0))
    assert expired is not None
    sessions.open[expired].expires_at -= 1
    assert sessions.next_results(expired, None) is None
    tokens = [sessions.start(cameras, None) for _ in range(MAX_OPEN_SEARCHES)]
    assert None not in tokens
    assert sessions.start(cameras, None) is None


def test_archive_window_is_seven_days_in_whole_seconds() -> None:
    now = datetime(2026, 1, 8, 12, 5, 30, 999_000, tzinfo=UTC)
    assert archive_span(now) == (
        datetime(2026, 1, 1, 12, 5, 30, tzinfo=UTC),
        datetime(2026, 1, 8, 12, 5, 30, tzinfo=UTC),
    )
