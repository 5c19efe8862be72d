"""Apply Alembic migrations from code, sharing the application's async engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from vtrack.db.locks import lock_key
from vtrack.db.session import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def _migrate(database: Database, step: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config(database.url)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        step(config, revision)

    async with database.engine.begin() as connection:
        if not database.is_sqlite:
            # Server and workers may start together: one migrates, the others then find the schema current.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("migrate")})
        await connection.run_sync(run)


async def upgrade(database: Database, revision: str = "head") -> None:
    await _migrate(database, command.upgrade, revision)


async def downgrade(database: Database, revision: str = "base") -> None:
    """Step the schema back to `revision`; "base" drops every table the migrations created."""
    await _migrate(database, command.downgrade, revision)


async def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with database.engine.connect() as connection:
        return await connection.run_sync(read)
