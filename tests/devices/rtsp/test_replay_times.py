"""The pieces of replay timing on their own: Range headers, the ONVIF extension, the RTP clock fallback."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta, timezone

import pytest

from vtrack.devices.rtsp.replay import (
    FLAG_CLEAN_POINT,
    FLAG_TERMINAL,
    RtpClock,
    clock_range,
    clock_time,
    ntp_to_datetime,
    onvif_stamp,
    parse_clock_start,
)

NTP_UNIX = 2_208_988_800


def extension(when: datetime, flags: int = 0) -> bytes:
    seconds = (when - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
    whole = int(seconds)
    ntp = ((whole + NTP_UNIX) << 32) | round((seconds - whole) * (1 << 32))
    return struct.pack("!HHQBBH", 0xABAC, 3, ntp, flags, 7, 0)


def test_clock_range_is_utc_with_milliseconds() -> None:
    hanoi = timezone(timedelta(hours=7))
    start = datetime(2024, 5, 1, 17, 0, 0, 250_000, tzinfo=hanoi)
    assert clock_time(start) == "20240501T100000.250Z"
    assert clock_range(datetime(2024, 5, 1, 10, tzinfo=UTC), datetime(2024, 5, 1, 10, 10, tzinfo=UTC)) == (
        "clock=20240501T100000.000Z-20240501T101000.000Z"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("clock=20240501T100000Z-20240501T100010Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("clock=20240501T100000.5Z-", datetime(2024, 5, 1, 10, 0, 0, 500_000, tzinfo=UTC)),
        ("npt=0-", None),
        ("clock=yesterday-", None),
        (None, None),
    ],
)
def test_parse_clock_start(header: str | None, expected: datetime | None) -> None:
    assert parse_clock_start(header) == expected


def test_onvif_stamp_reads_time_and_flags() -> None:
    when = datetime(2024, 5, 1, 10, 0, 9, 933_333, tzinfo=UTC)
    stamp = onvif_stamp(extension(when, FLAG_CLEAN_POINT | FLAG_TERMINAL))
    assert stamp is not None
    assert abs(stamp.time - when) <= timedelta(microseconds=1)
    assert stamp.flags == FLAG_CLEAN_POINT | FLAG_TERMINAL


def test_onvif_stamp_ignores_other_extensions_and_unknown_times() -> None:
    assert onvif_stamp(None) is None
    assert onvif_stamp(b"\xbe\xde\x00\x01\x10\xff\x00\x00") is None  # RFC 8285 one-byte header
    assert onvif_stamp(struct.pack("!HHQBBH", 0xABAC, 3, 0, 0x80, 0, 0)) is None  # NTP 0: time unknown


def test_ntp_epoch_conversion() -> None:
    assert ntp_to_datetime(NTP_UNIX << 32) == datetime(1970, 1, 1, tzinfo=UTC)
    assert ntp_to_datetime(((NTP_UNIX + 1) << 32) | (1 << 31)) == datetime(
        1970, 1, 1, 0, 0, 1, 500_000, tzinfo=UTC
    )


def test_rtp_clock_anchors_on_rtp_info_and_unwraps() -> None:
    start = datetime(2024, 5, 1, 10, tzinfo=UTC)
    anchor = 0xFFFF_0000  # RTP-Info's rtptime, 65536 ticks before the 32-bit wrap
    clock = RtpClock(90_000, anchor, start)
    assert clock.time(anchor + 9000) == start + timedelta(seconds=0.1)
    after_wrap = (anchor + 90_000 * 2) & 0xFFFFFFFF  # 2 s later, past 2^32
    assert clock.time(after_wrap) == start + timedelta(seconds=2)


def test_rtp_clock_without_rtp_info_starts_at_the_first_unit_and_follows_stamps() -> None:
    start = datetime(2024, 5, 1, 10, tzinfo=UTC)
    clock = RtpClock(90_000, None, start)
    assert clock.time(123_456) == start
    assert clock.time(123_456 + 45_000) == start + timedelta(seconds=0.5)
    later = start + timedelta(minutes=5)  # a stamped unit after a gap re-anchors the clock
    clock.restamp(123_456 + 90_000, later)
    assert clock.time(123_456 + 180_000) == later + timedelta(seconds=1)
