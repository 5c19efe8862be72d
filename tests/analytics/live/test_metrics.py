"""ChannelCollector: what a Prometheus scrape shows of the live channels, read at scrape time.

One test reads a fixed health report (exact values and units); the other scrapes a running manager,
then stops a channel and scrapes again.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from tests.analytics.live.conftest import wait_for
from tests.peers.ports import free_port
from vtrack.analytics.live.manager import ChannelManager
from vtrack.analytics.live.metrics import register_channel_metrics
from vtrack.db.models import AnalyticsChannel
from vtrack.db.session import Database
from vtrack.events.bus import EventBus
from vtrack.registry.analytics_channels import CHANNEL_PASSWORD
from vtrack.security.encryption import Keyring
from vtrack.settings import Settings
from vtrack.simulator.config import DEFAULT_PASSWORD, DEFAULT_USERNAME
from vtrack.simulator.runner import Simulator

Samples = dict[tuple[str, str, str], float]  # (sample name, channel_id, name label) -> value


def scrape(registry: CollectorRegistry) -> Samples:
    text = generate_latest(registry).decode()
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert set(sample.labels) == {"channel_id", "name"}, sample
            found[(sample.name, sample.labels["channel_id"], sample.labels["name"])] = sample.value
    return found


def test_a_health_report_becomes_per_channel_series_in_seconds() -> None:
    report: dict[str, dict[str, Any]] = {
        "c1": {
            "name": "front door",
            "state": "running",
            "fps_in": 25.0,
            "fps_out": 12.5,
            "latency_p50_ms": 120.0,
            "latency_p95_ms": 250.0,
            "event_latency_p95_ms": None,  # no event yet: no series, rather than a made-up 0
            "frames_in": 1000,
            "frames_processed": 500,
            "dropped": 499,
            "reconnects": 2,
        },
        "c2": {"state": "failed", "error": "line: far ...", "name": "misfit"},
    }
    registry = CollectorRegistry()
    register_channel_metrics(registry, lambda: report)
    samples = scrape(registry)
    door = ("c1", "front door")
    assert samples[("vtrack_analytics_channel_up", *door)] == 1.0
    assert samples[("vtrack_analytics_channel_up", "c2", "misfit")] == 0.0
    assert samples[("vtrack_analytics_fps_in", *door)] == 25.0
    assert samples[("vtrack_analytics_fps_out", *door)] == 12.5
    assert samples[("vtrack_analytics_latency_p50_seconds", *door)] == 0.12
    assert samples[("vtrack_analytics_latency_p95_seconds", *door)] == 0.25
    assert samples[("vtrack_analytics_frames_in_total", *door)] == 1000
    assert samples[("vtrack_analytics_frames_processed_total", *door)] == 500
    assert samples[("vtrack_analytics_frames_dropped_total", *door)] == 499
    assert samples[("vtrack_analytics_reconnects_total", *door)] == 2
    assert not any(key[0].startswith("vtrack_analytics_event_latency") for key in samples)
    assert {key[1] for key in samples if key[0] != "vtrack_analytics_channel_up"} == {"c1"}

    report["c1"]["state"] = "reconnecting"  # read at each scrape, not copied at registration
    del report["c2"]
    samples = scrape(registry)
    assert samples[("vtrack_analytics_channel_up", *door)] == 0.0
    assert {key[1] for key in samples} == {"c1"}


async def test_a_running_manager_is_scraped_and_a_stopped_channel_disappears(
    simulator: Simulator, database: Database, settings: Settings, keyring: Keyring
) -> None:
    rows = [
        AnalyticsChannel(
            name=name,
            url=url,
            username=DEFAULT_USERNAME,
            password_encrypted=keyring.encrypt(DEFAULT_PASSWORD, CHANNEL_PASSWORD),
        )
        for name, url in (
            ("door", simulator.cameras()[0].rtsp_url),
            ("dead", f"rtsp://127.0.0.1:{free_port()}/live/1"),
        )
    ]
    async with database.transaction() as session:
        session.add_all(rows)
    door, dead = (row.id for row in rows)
    quick = {"analytics_detector": "motion", "analytics_reconnect_seconds": 0.2}
    manager = ChannelManager(database, keyring, settings.model_copy(update=quick), EventBus())
    registry = CollectorRegistry()
    register_channel_metrics(registry, manager.health)
    try:
        assert scrape(registry) == {}
        await manager.start()
        processed = ("vtrack_analytics_frames_processed_total", door, "door")
        await wait_for(lambda: scrape(registry).get(processed, 0) >= 5, 10, "analysed frames in the scrape")
        await wait_for(lambda: manager.health()[dead]["reconnects"] >= 1, 5, "a refused connection")
        samples = scrape(registry)
        assert samples[("vtrack_analytics_channel_up", door, "door")] == 1.0
        assert samples[("vtrack_analytics_channel_up", dead, "dead")] == 0.0
        assert samples[("vtrack_analytics_fps_in", door, "door")] > 0
        assert 0 < samples[("vtrack_analytics_latency_p95_seconds", door, "door")] < 2.0
        assert samples[("vtrack_analytics_reconnects_total", dead, "dead")] >= 1
        assert samples[("vtrack_analytics_frames_in_total", dead, "dead")] == 0
        assert ("vtrack_analytics_latency_p50_seconds", dead, "dead") not in samples

        async with database.transaction() as session:
            await session.execute(
                update(AnalyticsChannel).where(AnalyticsChannel.id == door).values(enabled=False)
            )
        await manager.apply(door)
        after = scrape(registry)
        assert not any(key[1] == door for key in after)
        assert ("vtrack_analytics_channel_up", dead, "dead") in after
    finally:
        await manager.stop()
    assert scrape(registry) == {}
