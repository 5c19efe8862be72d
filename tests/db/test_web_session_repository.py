"""Dashboard sign-ins: open until ended or expired; a new sign-in clears the user's finished ones."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from vtrack.db.models import Role, User, WebSession
from vtrack.db.repositories.web_sessions import WebSessionRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow


async def test_sessions_open_end_expire_and_are_cleared(database: Database) -> None:
    now = utcnow()
    async with database.transaction() as session:
        session.add(Role(name="viewer", description="", permissions=[]))
        user = User(username="ana", password_hash="x", role_name="viewer")
        session.add(user)
        await session.flush()
        sessions = WebSessionRepository(session)
        await sessions.start("a", user.id, now + timedelta(hours=12), now, "127.0.0.9")
        await sessions.start("b", user.id, now + timedelta(minutes=1), now, None)
    async with database.transaction() as session:
        sessions = WebSessionRepository(session)
        assert await sessions.is_open("a", now) and await sessions.is_open("b", now)
        assert not await sessions.is_open("b", now + timedelta(minutes=2))  # expired
        assert not await sessions.is_open("nope", now)
        await sessions.end("a", now)
        assert not await sessions.is_open("a", now)
    async with database.transaction() as session:
        later = now + timedelta(minutes=5)
        await WebSessionRepository(session).start("c", user.id, later + timedelta(hours=12), later, None)
    async with database.session() as session:
        assert list(await session.scalars(select(WebSession.id))) == ["c"]  # a ended, b expired: gone
