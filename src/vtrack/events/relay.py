"""Events of other nodes into this node's bus: how the server's live pages follow scaled-out work.

With Celery workers (step 8) a health round or a live channel runs in another process, whose bus the
server's SSE streams cannot see. Every node's RedisBridge publishes with its node name as `origin`; the
server subscribes to the same channels and republishes what other nodes sent on its own bus, marked
with that origin, so its bridge does not send it back out (no echo between servers either).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from vtrack.events.bus import Event, EventBus
from vtrack.events.redis_bridge import DEFAULT_PREFIX, RedisBridge, redis_events, safe_url
from vtrack.settings import Settings

log = logging.getLogger(__name__)

CLUSTER_KINDS = ("analytics.*", "camera.*")  # what nodes publish for each other's live pages


def node_bridge(settings: Settings, bus: EventBus) -> RedisBridge | None:
    """This process's events out to Redis, signed with its node name; None without VTRACK_REDIS_URL."""
    if not settings.redis_url:
        return None
    return RedisBridge(settings.redis_url, bus, kinds=CLUSTER_KINDS, origin=settings.node)


class RedisRelay:
    def __init__(self, url: str, bus: EventBus, node: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.url = url
        self.bus = bus
        self.node = node
        self.prefix = prefix
        self.relayed = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="redis-relay")
        log.info("relaying other nodes' events from redis %s", safe_url(self.url))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        async for message in redis_events(self.url, f"{self.prefix}*"):
            origin = message.get("origin")
            if not isinstance(origin, str) or origin == self.node:
                continue  # ours, or from a publisher that is not a vtrack node
            try:
                event = Event(
                    kind=str(message["kind"]),
                    subject_type=str(message["subject_type"]),
                    subject_id=str(message["subject_id"]),
                    payload=dict(message.get("payload") or {}),
                    at=datetime.fromisoformat(str(message["at"])),
                    origin=origin,
                )
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("skipping a malformed event from %s: %s", origin, exc)
                continue
            self.bus.publish_event(event)
            self.relayed += 1
