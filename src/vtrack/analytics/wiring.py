"""Put live analytics into the application: the channel manager, its metrics, and Redis when configured."""

from __future__ import annotations

from vtrack.analytics.live.manager import ChannelManager
from vtrack.analytics.live.metrics import register_channel_metrics
from vtrack.services import Services


def register_analytics(services: Services) -> None:
    services.analytics = ChannelManager(
        services.database, services.keyring, services.settings, services.events
    )
    register_channel_metrics(services.metrics, services.analytics.health)
