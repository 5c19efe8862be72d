"""Prometheus view of the live channels, read from the manager at scrape time.

A collector rather than gauges set by the workers: the numbers already live in each channel's stats,
and series of a stopped or renamed channel disappear on the next scrape instead of lingering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

_LABELS = ["channel_id", "name"]
_GAUGES = (
    ("fps_in", "vtrack_analytics_fps_in", "Frames per second decoded from the stream (last 5 s)", 1.0),
    ("fps_out", "vtrack_analytics_fps_out", "Frames per second analysed (last 5 s)", 1.0),
    ("latency_p50_ms", "vtrack_analytics_latency_p50_seconds", "Capture to analysed, median", 0.001),
    ("latency_p95_ms", "vtrack_analytics_latency_p95_seconds", "Capture to analysed, 95th percentile", 0.001),
    (
        "event_latency_p95_ms",
        "vtrack_analytics_event_latency_p95_seconds",
        "Capture to event written, p95",
        0.001,
    ),
)
_COUNTERS = (
    ("frames_in", "vtrack_analytics_frames_in", "Frames decoded"),
    ("frames_processed", "vtrack_analytics_frames_processed", "Frames analysed"),
    ("dropped", "vtrack_analytics_frames_dropped", "Decoded frames skipped because analysis was busy"),
    ("reconnects", "vtrack_analytics_reconnects", "Stream reconnections"),
)


class ChannelCollector(Collector):
    def __init__(self, health: Callable[[], dict[str, dict[str, Any]]]) -> None:
        self.health = health

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        report = self.health()
        up = GaugeMetricFamily(
            "vtrack_analytics_channel_up", "1 while the channel is receiving video", labels=_LABELS
        )
        for channel_id, info in report.items():
            up.add_metric(
                [channel_id, str(info.get("name", ""))], 1.0 if info.get("state") == "running" else 0.0
            )
        yield up
        for key, name, text, scale in _GAUGES:
            gauge = GaugeMetricFamily(name, text, labels=_LABELS)
            for channel_id, info in report.items():
                if info.get(key) is not None:
                    gauge.add_metric([channel_id, str(info.get("name", ""))], float(info[key]) * scale)
            yield gauge
        for key, name, text in _COUNTERS:
            counter = CounterMetricFamily(name, text, labels=_LABELS)
            for channel_id, info in report.items():
                if info.get(key) is not None:
                    counter.add_metric([channel_id, str(info.get("name", ""))], float(info[key]))
            yield counter


def register_channel_metrics(
    registry: CollectorRegistry, health: Callable[[], dict[str, dict[str, Any]]]
) -> None:
    registry.register(ChannelCollector(health))
