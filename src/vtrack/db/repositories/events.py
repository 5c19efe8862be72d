"""Event rows: written in batches by whoever observed them, read by the API, pruned by retention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import SystemEvent
from vtrack.db.repositories.paging import Page, paginate

_PRUNE_CHUNK = 10_000


@dataclass(frozen=True)
class EventFilter:
    kind: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> list[SystemEvent]:
        """Insert events (kind, subject_type, subject_id, payload, at) and return them with their ids."""
        events = [SystemEvent(**row) for row in rows]
        self.session.add_all(events)
        await self.session.flush()  # one INSERT .. RETURNING per batch: ids for the bus
        return events

    async def search(self, flt: EventFilter, page: int, page_size: int) -> Page[SystemEvent]:
        query = select(SystemEvent).order_by(SystemEvent.at.desc(), SystemEvent.id.desc())
        if flt.kind:
            if flt.kind.endswith("*"):
                query = query.where(SystemEvent.kind.startswith(flt.kind[:-1], autoescape=True))
            else:
                query = query.where(SystemEvent.kind == flt.kind)
        if flt.subject_type:
            query = query.where(SystemEvent.subject_type == flt.subject_type)
        if flt.subject_id:
            query = query.where(SystemEvent.subject_id == flt.subject_id)
        if flt.since is not None:
            query = query.where(SystemEvent.at >= flt.since)
        if flt.until is not None:
            query = query.where(SystemEvent.at < flt.until)
        return await paginate(self.session, query, page, page_size)

    async def count_by_subject(
        self, kind: str, subject_type: str, since: datetime, subject_ids: Sequence[str] | None = None
    ) -> dict[str, int]:
        query = select(SystemEvent.subject_id, func.count()).where(
            SystemEvent.kind == kind, SystemEvent.subject_type == subject_type, SystemEvent.at >= since
        )
        if subject_ids is not None:
            query = query.where(SystemEvent.subject_id.in_(subject_ids))
        rows = await self.session.execute(query.group_by(SystemEvent.subject_id))
        return {str(subject): int(count) for subject, count in rows.all()}

    async def prune_chunk(self, cutoff: datetime, limit: int = _PRUNE_CHUNK) -> int:
        """Delete up to `limit` events older than `cutoff`; chunks keep SQLite's write lock short."""
        oldest = select(SystemEvent.id).where(SystemEvent.at < cutoff).limit(limit)
        result = await self.session.execute(delete(SystemEvent).where(SystemEvent.id.in_(oldest)))
        return int(getattr(result, "rowcount", 0) or 0)
