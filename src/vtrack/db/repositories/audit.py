"""Audit log writes and reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import AuditEntry
from vtrack.db.repositories.paging import Page, paginate


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        action: str,
        *,
        actor_id: str | None = None,
        actor_name: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        outcome: str = "success",
        ip: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(
            action=action,
            actor_id=actor_id,
            actor_name=actor_name,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            ip=ip,
            details=details or {},
        )
        self.session.add(entry)
        return entry

    async def search(
        self, page: int, page_size: int, action: str | None = None, actor_name: str | None = None
    ) -> Page[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc())
        if action:
            query = query.where(AuditEntry.action == action)
        if actor_name:
            query = query.where(AuditEntry.actor_name == actor_name)
        return await paginate(self.session, query, page, page_size)

    async def prune_before(self, cutoff: datetime) -> int:
        result = await self.session.execute(delete(AuditEntry).where(AuditEntry.at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
