"""Events that must both be kept (the events table) and told (the bus): persist first, publish after commit.

Publishing before the commit would let a live view show a change that a rollback then undoes, so the
recorder stages rows in the caller's transaction and the caller publishes what it got back once the
transaction is committed. `emit` does both for a single event in its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import SystemEvent
from vtrack.db.repositories.events import EventRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.events.bus import Event, EventBus


def event_of(row: SystemEvent) -> Event:
    return Event(row.kind, row.subject_type, row.subject_id, dict(row.payload or {}), row.at, row.id)


class EventRecorder:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    async def stage(self, session: AsyncSession, drafts: Sequence[Event]) -> list[Event]:
        """Write `drafts` in the caller's transaction; publish the result with `publish` after commit."""
        if not drafts:
            return []
        rows = await EventRepository(session).add_many(
            [
                {
                    "kind": d.kind,
                    "subject_type": d.subject_type,
                    "subject_id": d.subject_id,
                    "payload": d.payload,
                    "at": d.at,
                }
                for d in drafts
            ]
        )
        return [event_of(row) for row in rows]

    def publish(self, events: Iterable[Event]) -> None:
        for event in events:
            self.bus.publish_event(event)

    async def emit(
        self,
        database: Database,
        kind: str,
        subject_type: str,
        subject_id: str,
        payload: dict[str, Any] | None = None,
    ) -> Event:
        async with database.transaction() as session:
            (event,) = await self.stage(
                session, [Event(kind, subject_type, subject_id, dict(payload or {}), utcnow())]
            )
        self.publish([event])
        return event
