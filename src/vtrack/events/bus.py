"""A small in-process publish/subscribe bus for domain events (a camera went offline, came back).

Publishing never waits: a health round that changes 1,000 cameras must not stall behind a slow web
client. Each subscriber owns a bounded queue; when it is full the oldest event is dropped (and counted),
because for a live view the newest state matters more than a complete history, which the events table
keeps anyway. Everything runs on one event loop; publish from other threads through
`loop.call_soon_threadsafe`. Step 6/7 put Redis pub/sub and SSE on top of `subscribe`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from vtrack.db.types import utcnow

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000


@dataclass(frozen=True)
class Event:
    """One thing that happened; `id` is the events-table id when the event was persisted."""

    kind: str
    subject_type: str
    subject_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)
    id: int | None = None
    origin: str | None = None  # the node it happened on, when it came from another one (events/relay.py)


def _matcher(kinds: Iterable[str] | None) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """None matches everything; "camera.*" matches every kind that starts with "camera."."""
    if kinds is None:
        return None
    wanted = list(kinds)
    exact = frozenset(k for k in wanted if not k.endswith("*"))
    prefixes = tuple(k[:-1] for k in wanted if k.endswith("*"))
    return exact, prefixes


class Subscription:
    """An async iterator of events; close it (or leave its `async with`) to stop receiving."""

    def __init__(self, bus: EventBus, kinds: Iterable[str] | None, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._bus = bus
        self._match = _matcher(kinds)
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=queue_size)
        self.dropped = 0
        self.closed = False

    def wants(self, kind: str) -> bool:
        if self._match is None:
            return True
        exact, prefixes = self._match
        return kind in exact or kind.startswith(prefixes)

    def offer(self, event: Event) -> None:
        if self.closed:
            return
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("event subscriber too slow: %d events dropped so far", self.dropped)
        self._queue.put_nowait(event)

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._bus.unsubscribe(self)
        # Wake a reader blocked in __anext__; make room first so the sentinel always fits.
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        if self.closed:  # what was still queued is not wanted any more
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None or self.closed:
            raise StopAsyncIteration
        return event

    async def get(self, within: float | None = None) -> Event:
        """The next event, waiting at most `within` seconds (TimeoutError past that)."""
        async with asyncio.timeout(within):
            return await self.__anext__()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()


class EventBus:
    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._subscribers: list[Subscription] = []

    def publish(
        self,
        kind: str,
        subject_type: str,
        subject_id: str,
        payload: dict[str, Any] | None = None,
        *,
        at: datetime | None = None,
        event_id: int | None = None,
    ) -> Event:
        event = Event(kind, subject_type, subject_id, dict(payload or {}), at or utcnow(), event_id)
        self.publish_event(event)
        return event

    def publish_event(self, event: Event) -> None:
        for subscriber in tuple(self._subscribers):
            if subscriber.wants(event.kind):
                subscriber.offer(event)

    def subscribe(self, kinds: Iterable[str] | None = None, *, queue_size: int | None = None) -> Subscription:
        """Events of these kinds ("camera.*" for a prefix, None for all) from now on."""
        size = self.queue_size if queue_size is None else queue_size
        subscription = Subscription(self, kinds, size)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
