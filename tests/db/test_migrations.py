"""Alembic migrations on SQLite and PostgreSQL: they build exactly the models' schema, and take it down."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

from vtrack.db.base import Base
from vtrack.db.migrate import alembic_config, current_revision, downgrade, upgrade
from vtrack.db.models import Camera, CameraGroup
from vtrack.db.session import Database
from vtrack.settings import Settings

# Expression indexes (on lower(name) and coalesce(group_id, '')): SQLAlchemy cannot reflect them from
# SQLite, so alembic's compare skips them there with a warning; they are checked from sqlite_master instead.
EXPRESSION_INDEXES = {"uq_cameras_group_name", "ix_cameras_name_lower"}


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database(settings.resolved_database_url)
    yield db
    await db.dispose()


def head_revision(database: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()


async def table_names(database: Database) -> set[str]:
    async with database.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


def schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_from_empty_creates_every_table(database: Database) -> None:
    assert await table_names(database) == set()
    await upgrade(database)
    assert await table_names(database) == set(Base.metadata.tables) | {"alembic_version"}
    assert await current_revision(database) == head_revision(database)
    # The list, spelled out, so a model dropped from the metadata cannot pass unnoticed.
    assert {
        "users",
        "roles",
        "cameras",
        "camera_groups",
        "camera_health",
        "camera_snapshots",
        "video_sources",
        "audit_log",
        "job_runs",
    } <= await table_names(database)


async def test_migrated_schema_matches_the_models(database: Database, backend: str) -> None:
    await upgrade(database)
    async with database.engine.connect() as conn:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            differences = await conn.run_sync(schema_differences)
    assert differences == []
    skipped = {name for name in EXPRESSION_INDEXES for w in caught if f"'{name}'" in str(w.message)}
    if backend == "sqlite":
        assert skipped == EXPRESSION_INDEXES  # skipped by alembic, so checked by hand below
        async with database.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cameras'")
            )
            sql = {name: " ".join(str(ddl).lower().split()) for name, ddl in rows}
        assert sql["uq_cameras_group_name"].startswith("create unique index uq_cameras_group_name")
        assert "(coalesce(group_id, ''), lower(name))" in sql["uq_cameras_group_name"]
        assert "(lower(name))" in sql["ix_cameras_name_lower"]
    else:
        # PostgreSQL reflects expression indexes, and they compare cleanly: nothing is skipped.
        assert skipped == set()


async def test_downgrade_to_base_drops_everything(database: Database) -> None:
    await upgrade(database)
    await downgrade(database, "base")
    assert await table_names(database) <= {"alembic_version"}
    assert await current_revision(database) is None
    await upgrade(database)  # and the way back up works on what the downgrade left
    assert await table_names(database) == set(Base.metadata.tables) | {"alembic_version"}


async def _insert_camera(database: Database, name: str, group_id: str | None) -> None:
    async with database.transaction() as session:
        session.add(Camera(name=name, rtsp_url="rtsp://192.168.1.10/s", group_id=group_id))


async def test_camera_names_are_unique_per_group_case_insensitively(database: Database) -> None:
    await upgrade(database)
    async with database.transaction() as session:
        group = CameraGroup(name="Lobby")
        session.add(group)
    await _insert_camera(database, "Cam", None)
    with pytest.raises(IntegrityError):
        await _insert_camera(database, "Cam", None)  # NULL group: coalesce makes NULLs collide
    with pytest.raises(IntegrityError):
        await _insert_camera(database, "CAM", None)
    await _insert_camera(database, "cam", group.id)  # another group is another namespace
    with pytest.raises(IntegrityError):
        await _insert_camera(database, "CAM", group.id)
    await _insert_camera(database, "Cam 2", None)
    async with database.session() as session:
        count = (await session.execute(text("SELECT count(*) FROM cameras"))).scalar_one()
    assert count == 3
