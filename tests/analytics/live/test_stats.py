"""Per-channel figures: sliding-window rates, bounded latency windows, and the health dict they feed."""

from __future__ import annotations

import pytest

from vtrack.analytics.live.stats import LATENCY_SAMPLES, ChannelStats, LatencyWindow, RateWindow


def ticks(window: RateWindow, hz: float, start: float, seconds: float) -> float:
    """Tick at `hz` from `start` for `seconds`; the time of the last tick."""
    count = round(hz * seconds)
    for i in range(count + 1):
        window.tick(start + i / hz)
    return start + count / hz


@pytest.mark.parametrize("hz", [1.0, 2.0, 15.0, 25.0])
def test_a_steady_stream_reads_as_its_rate(hz: float) -> None:
    window = RateWindow(5.0)
    last = ticks(window, hz, 100.0, 12.0)  # past the window: only its last 5 s count
    assert window.rate(last) == pytest.approx(hz)
    short = RateWindow(5.0)
    last = ticks(short, hz, 100.0, 2.0)  # a window not yet full reads the same
    assert short.rate(last) == pytest.approx(hz)


def test_a_stall_shows_within_the_window_and_ends_at_zero() -> None:
    window = RateWindow(5.0)
    last = ticks(window, 10.0, 0.0, 10.0)
    assert window.rate(last + 2.0) < 10.0 * 0.75  # two silent seconds pull the rate down at once
    assert window.rate(last + 5.1) == 0.0
    assert RateWindow().rate() == 0.0
    one = RateWindow()
    one.tick(3.0)
    assert one.rate(3.5) == 0.0  # one frame is no rate


def test_latency_percentiles_follow_the_most_recent_samples() -> None:
    window = LatencyWindow(size=100)
    assert window.percentile(50) is None
    for _ in range(100):
        window.add(1000.0)  # an old slow spell...
    for value in range(1, 101):
        window.add(float(value))  # ...pushed out by 100 fresh samples
    assert window.percentile(50) == pytest.approx(50.5)
    assert window.percentile(95) == pytest.approx(95.05)
    assert LatencyWindow().percentile(95) is None and LATENCY_SAMPLES >= 1000


def test_the_health_dict_rounds_and_reports_missing_figures_as_none() -> None:
    stats = ChannelStats()
    health = stats.to_dict()
    assert health["state"] == "starting" and health["error"] is None
    assert health["latency_p50_ms"] is None and health["event_latency_p95_ms"] is None
    assert health["fps_in"] == 0.0 and health["dropped"] == 0 and health["reconnects"] == 0
    stats.latency.add(123.456)
    stats.event_latency.add(88.88)
    stats.frames_in, stats.frames_processed, stats.dropped = 30, 10, 19
    health = stats.to_dict()
    assert health["latency_p50_ms"] == 123.5 and health["latency_p95_ms"] == 123.5
    assert health["event_latency_p95_ms"] == 88.9
    assert (health["frames_in"], health["frames_processed"], health["dropped"]) == (30, 10, 19)
    assert health["uptime_seconds"] >= 0
