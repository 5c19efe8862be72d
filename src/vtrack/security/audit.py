"""Who is acting, carried from the request into services so every change is audited with its author."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.repositories.audit import AuditRepository


@dataclass(frozen=True)
class Actor:
    user_id: str | None
    username: str | None
    ip: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, username=name)


class Auditor:
    """Writes in the caller's transaction, so an audit row exists exactly when the change committed."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self._repo = AuditRepository(session)
        self.actor = actor

    def record(
        self,
        action: str,
        target_type: str | None = None,
        target_id: str | None = None,
        outcome: str = "success",
        **details: Any,
    ) -> None:
        self._repo.record(
            action,
            actor_id=self.actor.user_id,
            actor_name=self.actor.username,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            ip=self.actor.ip,
            details=details,
        )
