"""The SQLite engine: a connection SQLAlchemy closes mid-transaction must not keep the write lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from vtrack.db.session import Database


def write_lock_is_free(path: Path) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:  # "database is locked", at once: timeout 0
        return False
    finally:
        other.close()


async def test_a_connection_closed_mid_transaction_releases_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "vtrack.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("CREATE TABLE clips (name TEXT)"))
            await connection.commit()
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            # A cursor still referenced when its connection is closed: what a traceback held when a task
            # was cancelled during a statement, the case SQLAlchemy answers by closing the connection.
            # An executemany's statement, unlike a plain execute's, stays unfinalized with its cursor.
            cursor = await raw.executemany("INSERT INTO clips VALUES (?)", [("a.mp4",), ("b.mp4",)])
            assert not write_lock_is_free(path)
            await connection.invalidate()
            assert write_lock_is_free(path)
            del cursor
    finally:
        await database.dispose()
