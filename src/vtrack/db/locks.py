"""Named locks that hold across processes on PostgreSQL and within the process on SQLite.

PostgreSQL's session advisory locks belong to a connection: held on a connection of their own for as
long as the work runs, they are released by the server the moment that connection goes, so a worker
killed mid-run never leaves a lock behind. SQLite means one node, where an asyncio lock is enough.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from vtrack.db.session import Database


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, the same in every process and version."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class NamedLocks:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._local: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        """Wait for the lock, hold it for the block; first in this process, then across processes."""
        async with self._local.setdefault(name, asyncio.Lock()):
            if self.database.is_sqlite:
                yield
                return
            key = lock_key(name)
            async with self.database.engine.connect() as connection:
                await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                await connection.commit()
                try:
                    yield
                finally:
                    try:
                        await asyncio.shield(self._unlock(connection, key))
                    except BaseException:
                        # A lock left on a pooled connection would outlive the run: drop the connection.
                        await connection.invalidate()
                        raise

    @staticmethod
    async def _unlock(connection: AsyncConnection, key: int) -> None:
        await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        await connection.commit()
