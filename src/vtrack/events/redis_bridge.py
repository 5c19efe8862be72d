"""Bus events out to Redis pub/sub, so other nodes and dashboards can follow live analytics.

Redis is an optional extra, never a dependency of the hub's own work: the bridge listens on the bus
through a bounded subscription, so a slow or dead Redis costs dropped messages, never a stalled
publisher. While Redis is down the bridge drops what arrives (counted), logs once per outage rather
than once per event, and tries again on the next event after an exponential backoff; it reconnects
itself instead of leaning on redis-py's retries, which can hold a batch for many socket timeouts. Pub/sub is
fire-and-forget by nature: anything that must not be lost is in the database already.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sys
from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from vtrack.events.bus import Event, EventBus, Subscription

log = logging.getLogger(__name__)

DEFAULT_KINDS = ("analytics.*",)
DEFAULT_PREFIX = "vtrack:"
DEFAULT_PATTERN = "vtrack:analytics.*"

_FAILURES = (RedisError, OSError)


def safe_url(url: str) -> str:
    """The URL with its password masked, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


# A subscriber only reads, so a peer that vanished without a reset (a cable pulled, a VM paused) would
# leave it waiting forever; keepalive probes turn that into an error within about a minute.
_KEEPALIVE: dict[int, int] = (
    {socket.TCP_KEEPIDLE: 30, socket.TCP_KEEPINTVL: 10, socket.TCP_KEEPCNT: 3}
    if sys.platform == "linux"
    else {}
)


def _client(url: str, socket_timeout: float) -> Redis:
    # No library retries (redis-py's default retries timeouts 10 times): the caller decides what a
    # failure means, drop and back off for the bridge, resubscribe for a consumer.
    return Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        socket_keepalive=True,
        socket_keepalive_options=_KEEPALIVE,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
    )


def _json_default(value: Any) -> Any:
    """Payloads hold what analytics produce: datetimes, numpy scalars, tuples of points."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays, to plain Python values
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_event(event: Event, origin: str | None = None) -> str:
    """The wire format: what a consumer on another node needs, without our internal ids.

    `origin` names the node, so a relay (events/relay.py) can skip its own node's events."""
    message = {
        "kind": event.kind,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "payload": event.payload,
        "at": event.at.isoformat(),
    }
    if origin is not None:
        message["origin"] = origin
    return json.dumps(
        message,
        default=_json_default,
        separators=(",", ":"),
    )


class RedisBridge:
    """PUBLISHes bus events of `kinds` on channel f"{prefix}{kind}"; start() once on the running loop."""

    def __init__(
        self,
        url: str,
        bus: EventBus,
        kinds: Iterable[str] = DEFAULT_KINDS,
        prefix: str = DEFAULT_PREFIX,
        *,
        queue_size: int = 1000,
        batch_size: int = 100,
        socket_timeout: float = 2.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        origin: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.url = url
        self.bus = bus
        self.kinds = tuple(kinds)
        self.prefix = prefix
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.socket_timeout = socket_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.origin = origin
        self.published = 0
        self.outages = 0
        self._failed = 0  # sent while Redis was down or unserialisable; overflow is the subscription's
        self._down = False
        self._delay = backoff_initial
        self._retry_at = 0.0
        self._closing = False
        self._dropped_before_outage = 0
        self._client: Redis | None = None
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def connected(self) -> bool:
        """Whether the last send reached Redis (False before the first one)."""
        return self.published > 0 and not self._down

    @property
    def dropped(self) -> int:
        overflow = self._subscription.dropped if self._subscription is not None else 0
        return self._failed + overflow

    def stats(self) -> dict[str, Any]:
        return {
            "url": safe_url(self.url),
            "running": self.running,
            "connected": self.connected,
            "published": self.published,
            "dropped": self.dropped,
            "outages": self.outages,
            "pending": self._subscription.pending() if self._subscription is not None else 0,
        }

    async def start(self) -> None:
        """Begin forwarding; never waits for Redis, so a missing Redis cannot hold up the app's startup."""
        if self.running:
            return
        self._closing = False
        self._client = _client(self.url, self.socket_timeout)
        self._subscription = self.bus.subscribe(self.kinds, queue_size=self.queue_size)
        self._task = asyncio.create_task(self._run(self._subscription, self._client), name="redis-bridge")
        self._task.add_done_callback(_report_crash)
        log.info("forwarding %s events to redis %s", ",".join(self.kinds), safe_url(self.url))

    async def stop(self, drain_timeout: float = 1.0) -> None:
        """Stop forwarding, first giving what is queued up to `drain_timeout` s to go out if Redis is up."""
        subscription, task, client = self._subscription, self._task, self._client
        if subscription is None or task is None:
            return
        self._task = None
        self._closing = True
        if not subscription.pending():
            subscription.close()  # wakes the forwarder if it waits on an empty queue
        # Otherwise it is busy with the backlog and returns once that is sent (or Redis is down).
        done, _ = await asyncio.wait({task}, timeout=drain_timeout)
        if not done:
            task.cancel()
            await asyncio.wait({task})
        subscription.close()
        if client is not None:
            await client.aclose()
        self._client = None

    async def _next_batch(self, subscription: Subscription) -> list[Event]:
        """One event waited for, plus whatever else is already queued: one round trip for a burst."""
        batch = [await subscription.__anext__()]
        while len(batch) < self.batch_size and subscription.pending():
            try:
                batch.append(await subscription.__anext__())
            except StopAsyncIteration:
                break
        return batch

    async def _run(self, subscription: Subscription, client: Redis) -> None:
        loop = asyncio.get_running_loop()
        while not (self._closing and (self._down or not subscription.pending())):
            try:
                batch = await self._next_batch(subscription)
            except StopAsyncIteration:
                return
            if self._down and loop.time() < self._retry_at:
                self._failed += len(batch)
                continue
            await self._send(client, batch, loop.time())

    def _encode(self, batch: list[Event]) -> list[tuple[str, str]]:
        messages = []
        for event in batch:
            if event.origin is not None:  # relayed from another node: it is on Redis already
                continue
            try:
                messages.append((f"{self.prefix}{event.kind}", encode_event(event, self.origin)))
            except (TypeError, ValueError) as exc:
                self._failed += 1
                log.warning("event %s not sent to redis: payload is not JSON: %s", event.kind, exc)
        return messages

    async def _send(self, client: Redis, batch: list[Event], now: float) -> None:
        messages = self._encode(batch)
        if not messages:
            return
        try:
            async with client.pipeline(transaction=False) as pipe:
                for channel, data in messages:
                    pipe.publish(channel, data)
                await pipe.execute()
        except _FAILURES as exc:
            self._failed += len(messages)
            if not self._down:
                self._down = True
                self.outages += 1
                self._dropped_before_outage = self.dropped - len(messages)
                log.warning(
                    "redis %s unreachable, dropping events until it is back: %s", safe_url(self.url), exc
                )
            self._retry_at = now + self._delay
            self._delay = min(self._delay * 2, self.backoff_max)
            return
        self.published += len(messages)
        if self._down:
            self._down = False
            lost = self.dropped - self._dropped_before_outage
            log.info(
                "redis %s reachable again; %d events dropped during the outage", safe_url(self.url), lost
            )
        self._delay = self.backoff_initial


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("redis bridge stopped by an unexpected error", exc_info=exc)


async def redis_events(
    url: str,
    pattern: str = DEFAULT_PATTERN,
    *,
    reconnect: bool = True,
    socket_timeout: float = 2.0,
    backoff_initial: float = 0.5,
    backoff_max: float = 30.0,
) -> AsyncIterator[dict[str, Any]]:
    """Decoded events from channels matching `pattern` (a Redis glob), as published by a RedisBridge.

    With `reconnect` a lost connection is re-established with backoff and the pattern subscribed again
    (events published meanwhile are gone: pub/sub keeps nothing); without it the error propagates.
    Messages that are not bridge JSON are logged and skipped.
    """
    delay = backoff_initial
    down = False
    while True:
        client = _client(url, socket_timeout)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.psubscribe(pattern)
            if down:
                log.info("redis %s reachable again, listening on %s", safe_url(url), pattern)
                down = False
            delay = backoff_initial
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=socket_timeout)
                if message is None or message.get("type") != "pmessage":
                    continue
                decoded = _decode(message.get("data"), message.get("channel"))
                if decoded is not None:
                    yield decoded
        except _FAILURES as exc:
            if not reconnect:
                raise
            if not down:
                down = True
                log.warning("redis %s unreachable, resubscribing to %s: %s", safe_url(url), pattern, exc)
        finally:
            with contextlib.suppress(*_FAILURES):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
            with contextlib.suppress(*_FAILURES):
                await client.aclose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, backoff_max)


def _decode(data: Any, channel: Any) -> dict[str, Any] | None:
    try:
        decoded = json.loads(data)
    except (TypeError, ValueError):
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("kind"), str):
        return decoded
    log.warning("skipping a message on %r that is not a vtrack event", channel)
    return None
