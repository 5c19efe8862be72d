"""User and role queries."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import Role, User
from vtrack.db.repositories.paging import Page, paginate


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)

    async def by_username(self, username: str) -> User | None:
        query = select(User).where(func.lower(User.username) == username.strip().lower())
        return (await self.session.execute(query)).unique().scalars().first()

    async def search(self, page: int, page_size: int) -> Page[User]:
        query = select(User).order_by(func.lower(User.username), User.id)
        return await paginate(self.session, query, page, page_size)

    async def count_active_admins(self) -> int:
        query = select(func.count()).where(User.role_name == "admin", User.is_active.is_(True))
        return int((await self.session.execute(query)).scalar_one())

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(User))).scalar_one())

    def add(self, user: User) -> None:
        self.session.add(user)

    async def delete(self, user: User) -> None:
        await self.session.delete(user)


class RoleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, name: str) -> Role | None:
        return await self.session.get(Role, name)

    async def all(self) -> list[Role]:
        return list((await self.session.execute(select(Role).order_by(Role.name))).scalars())

    async def sync(self, roles: Iterable[tuple[str, str, list[str]]]) -> None:
        """Make the built-in roles match the code, keeping any extra roles an admin added."""
        for name, description, permissions in roles:
            role = await self.get(name)
            if role is None:
                self.session.add(Role(name=name, description=description, permissions=permissions))
            else:
                role.description = description
                role.permissions = permissions
