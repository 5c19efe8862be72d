"""Offset pagination shared by every list query."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    page_size: int
    total: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.page_size) if self.total else 0


async def paginate(session: AsyncSession, query: Select[Any], page: int, page_size: int) -> Page[Any]:
    count_query = select(func.count()).select_from(query.order_by(None).subquery())
    total = (await session.execute(count_query)).scalar_one()
    rows = (await session.execute(query.limit(page_size).offset((page - 1) * page_size))).unique()
    return Page(items=list(rows.scalars()), page=page, page_size=page_size, total=total)
