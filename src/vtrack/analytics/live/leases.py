"""Leases on live channels in the database: which node runs which channel, and never two at once.

Every statement that gives a node a channel is conditional (the row is missing, lapsed, or already
this node's), so whichever of two nodes commits first wins and the other's statement changes nothing;
a primary key backs the insert of a first lease the same way. Holding is a heartbeat: the node pushes
`expires_at` ahead every few seconds, and a node that cannot (its database is away) must stop its
channels before the lease lapses, which the manager does (self-fencing). A lapsed lease is free, so a
dead node's channels move within one lease time plus one heartbeat.

Nodes also heartbeat a row of their own, so each knows how many share the channels and takes only a
fair share: a node that starts next to a busy one gets channels handed over instead of none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from vtrack.db.models import AnalyticsChannel, AnalyticsLease, AnalyticsNode, AnalyticsRun
from vtrack.db.session import Database
from vtrack.db.types import utcnow


@dataclass(frozen=True)
class Standing:
    """What one heartbeat found: the node's renewed leases, enabled channels, and its fair share."""

    renewed: set[str]
    enabled: dict[str, datetime]  # channel id -> updated_at (a change means: restart with new settings)
    free: list[str]  # enabled channels nobody holds, in name order
    share: int  # how many channels this node should hold now


def fair_share(channels: int, capacities: list[int]) -> int:
    """An even split of the channels over the live nodes (capacity 0: no limit), where a node capped
    below its even share leaves the rest to the others instead of to nobody."""
    nodes = len(capacities)
    for capacity in sorted(c for c in capacities if c):
        if capacity >= math.ceil(channels / nodes):
            break
        channels -= capacity
        nodes -= 1
    return math.ceil(channels / max(1, nodes))


class LeaseBook:
    def __init__(self, database: Database, node: str, ttl_seconds: float, capacity: int = 0) -> None:
        self.database = database
        self.node = node
        self.ttl = timedelta(seconds=ttl_seconds)
        self.capacity = capacity

    async def heartbeat(self, health: dict[str, Any]) -> Standing:
        """Renew; `health` (this node's channels) is published for the server's live overview."""
        now = utcnow()
        async with self.database.transaction() as session:
            touched = await session.execute(
                update(AnalyticsNode)
                .where(AnalyticsNode.name == self.node)
                .values(heartbeat_at=now, channels=health)
            )
            if not touched.rowcount:  # type: ignore[attr-defined]
                session.add(
                    AnalyticsNode(
                        name=self.node,
                        started_at=now,
                        heartbeat_at=now,
                        capacity=self.capacity,
                        channels=health,
                    )
                )
            await session.execute(
                update(AnalyticsLease)
                .where(AnalyticsLease.node == self.node, AnalyticsLease.expires_at >= now)
                .values(expires_at=now + self.ttl)
            )
        async with self.database.session() as session:
            leases = (
                await session.execute(
                    select(AnalyticsLease.channel_id, AnalyticsLease.node).where(
                        AnalyticsLease.expires_at > now
                    )
                )
            ).all()
            channels = (
                await session.execute(
                    select(AnalyticsChannel.id, AnalyticsChannel.updated_at)
                    .where(AnalyticsChannel.enabled.is_(True))
                    .order_by(AnalyticsChannel.name)
                )
            ).all()
            capacities = list(
                await session.scalars(
                    select(AnalyticsNode.capacity).where(AnalyticsNode.heartbeat_at > now - self.ttl)
                )
            )
        held = {channel_id for channel_id, _node in leases}
        renewed = {channel_id for channel_id, node in leases if node == self.node}
        enabled = {channel_id: updated for channel_id, updated in channels}
        share = fair_share(len(enabled), capacities or [self.capacity])
        if self.capacity:
            share = min(share, self.capacity)
        free = [channel_id for channel_id in enabled if channel_id not in held]
        return Standing(renewed, enabled, free, share)

    async def acquire(self, channel_id: str) -> bool:
        """Take a free (or lapsed) channel; False when another node has it. Its orphaned runs are closed."""
        now = utcnow()
        async with self.database.transaction() as session:
            taken = await session.execute(
                update(AnalyticsLease)
                .where(
                    AnalyticsLease.channel_id == channel_id,
                    (AnalyticsLease.expires_at <= now) | (AnalyticsLease.node == self.node),
                )
                .values(node=self.node, acquired_at=now, expires_at=now + self.ttl)
            )
            if not taken.rowcount:  # type: ignore[attr-defined]
                try:
                    async with session.begin_nested():
                        session.add(
                            AnalyticsLease(
                                channel_id=channel_id,
                                node=self.node,
                                acquired_at=now,
                                expires_at=now + self.ttl,
                            )
                        )
                except IntegrityError:  # another node inserted it first, or the channel is gone
                    return False
            # Only the lease holder runs a channel, and this node has not started its run yet: a run
            # still marked running belongs to a node that died holding the lease.
            await session.execute(
                update(AnalyticsRun)
                .where(
                    AnalyticsRun.channel_id == channel_id,
                    AnalyticsRun.kind == "live",
                    AnalyticsRun.status == "running",
                )
                .values(status="interrupted", ended_at=now, error="its node stopped; the channel moved")
            )
        return True

    async def release(self, channel_ids: list[str]) -> None:
        if not channel_ids:
            return
        async with self.database.transaction() as session:
            await session.execute(
                delete(AnalyticsLease).where(
                    AnalyticsLease.node == self.node, AnalyticsLease.channel_id.in_(channel_ids)
                )
            )

    async def others(self) -> dict[str, dict[str, Any]]:
        """Channel id -> health, as published by the other live nodes at their last heartbeat."""
        since = utcnow() - self.ttl
        async with self.database.session() as session:
            rows = (
                await session.execute(
                    select(AnalyticsNode.name, AnalyticsNode.channels).where(
                        AnalyticsNode.name != self.node, AnalyticsNode.heartbeat_at > since
                    )
                )
            ).all()
        return {
            channel_id: {**health, "node": name}
            for name, channels in rows
            for channel_id, health in (channels or {}).items()
        }

    async def leave(self) -> None:
        """A clean stop: the node's leases and its row go at once, so others take over without waiting."""
        async with self.database.transaction() as session:
            await session.execute(delete(AnalyticsLease).where(AnalyticsLease.node == self.node))
            await session.execute(delete(AnalyticsNode).where(AnalyticsNode.name == self.node))
