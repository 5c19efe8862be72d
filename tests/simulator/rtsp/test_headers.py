"""Transport and Range header grammar, as clients actually send them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vtrack.simulator.media.archive import ticks_from_datetime
from vtrack.simulator.rtsp.headers import (
    HeaderError,
    TransportSpec,
    parse_clock,
    parse_range,
    parse_rate_control,
    parse_scale,
    parse_transport,
)
from vtrack.simulator.rtsp.sdp import clock_time


def test_transports_from_ffmpeg_and_gstreamer() -> None:
    assert parse_transport("RTP/AVP/TCP;unicast;interleaved=0-1") == TransportSpec(
        tcp=True, interleaved=(0, 1)
    )
    assert parse_transport("RTP/AVP/UDP;unicast;client_port=5000-5001") == TransportSpec(
        tcp=False, client_ports=(5000, 5001)
    )
    # GStreamer offers several; the first supported one wins, multicast is skipped.
    offered = "RTP/AVP;multicast;port=5000-5001,RTP/AVP;unicast;client_port=6000-6001"
    assert parse_transport(offered).client_ports == (6000, 6001)
    assert parse_transport("RTP/AVP/TCP;unicast").interleaved is None
    with pytest.raises(HeaderError) as refused:
        parse_transport("RAW/RAW/UDP;unicast;client_port=1")
    assert refused.value.status == 461


def test_clock_ranges() -> None:
    assert parse_clock("20261120T080000.25Z") == datetime(2026, 11, 20, 8, 0, 0, 250000, tzinfo=UTC)
    clock_range = parse_range("clock=20261120T080000Z-20261120T080010.5Z")
    assert clock_range is not None
    assert clock_range.start == ticks_from_datetime(datetime(2026, 11, 20, 8, tzinfo=UTC))
    assert clock_range.end is not None and clock_range.end - clock_range.start == 945_000
    open_ended = parse_range("clock=20261120T080000Z-")
    assert open_ended is not None and open_ended.end is None
    assert parse_range("npt=0.000-") is None and parse_range("") is None
    for bad in ("clock=20261120T080010Z-20261120T080000Z", "clock=yesterday-", "smpte=0:00:00-"):
        with pytest.raises(HeaderError) as error:
            parse_range(bad)
        assert error.value.status == 457
    assert clock_time(datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)) == "20260102T030405.5Z"


def test_scale_and_rate_control() -> None:
    assert parse_scale("") == 1.0 and parse_scale("4.0") == 4.0
    with pytest.raises(HeaderError):
        parse_scale("-1.0")
    assert parse_rate_control("") and parse_rate_control("yes") and not parse_rate_control("No")
