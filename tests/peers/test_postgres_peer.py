"""The throwaway PostgreSQL peer must start and accept asyncpg connections.

Tested on its own so that a broken peer shows up as one clear failure rather
than as every database test failing at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from .postgres import running_postgres


@pytest.fixture(scope="module")
def peer_postgres_url() -> Iterator[str]:
    with running_postgres() as url:
        yield url


@pytest.mark.postgres
async def test_select_one_through_asyncpg(peer_postgres_url: str) -> None:
    assert peer_postgres_url.startswith("postgresql+asyncpg://")
    engine = create_async_engine(peer_postgres_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
            version = (await conn.execute(text("SELECT version()"))).scalar_one()
            assert "PostgreSQL" in version
    finally:
        await engine.dispose()
