"""Dashboard sign-ins: started at login, looked up on every request the cookie makes, ended at logout."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import WebSession


class WebSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def start(
        self, token_id: str, user_id: str, expires_at: datetime, now: datetime, ip: str | None
    ) -> None:
        # The user's ended and expired sign-ins go as a new one starts: the table stays the size of the
        # sessions people really have open.
        await self.session.execute(
            delete(WebSession).where(
                WebSession.user_id == user_id,
                or_(WebSession.ended_at.is_not(None), WebSession.expires_at <= now),
            )
        )
        self.session.add(
            WebSession(id=token_id, user_id=user_id, created_at=now, expires_at=expires_at, ip=ip)
        )

    async def is_open(self, token_id: str, now: datetime) -> bool:
        query = select(WebSession.id).where(
            WebSession.id == token_id, WebSession.ended_at.is_(None), WebSession.expires_at > now
        )
        return (await self.session.scalar(query)) is not None

    async def end(self, token_id: str, now: datetime) -> None:
        row = await self.session.get(WebSession, token_id)
        if row is not None and row.ended_at is None:
            row.ended_at = now
