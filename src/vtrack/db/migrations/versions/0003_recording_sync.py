"""recording sync: recordings index, downloaded_files (the archive index), sync_status

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _source_and_camera() -> list[sa.Column[str]]:
    return [
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("camera_id", sa.String(length=36), nullable=False),
    ]


def _foreign_keys(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["video_sources.id"],
            name=op.f(f"fk_{table}_source_id_video_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f(f"fk_{table}_camera_id_cameras"), ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "recordings",
        *_source_and_camera(),
        sa.Column("remote_id", sa.String(length=1024), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("container", sa.String(length=16), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        *_foreign_keys("recordings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("camera_id", "remote_id", name="uq_recordings_camera_remote"),
    )
    op.create_index("ix_recordings_camera_start", "recordings", ["camera_id", "start_at"], unique=False)

    op.create_table(
        "downloaded_files",
        *_source_and_camera(),
        sa.Column("remote_id", sa.String(length=1024), nullable=False),
        sa.Column("range_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("range_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *_foreign_keys("downloaded_files"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_downloaded_files")),
        sa.UniqueConstraint("camera_id", "range_start", name="uq_downloaded_files_camera_start"),
    )
    op.create_index(
        "ix_downloaded_files_source_state", "downloaded_files", ["source_id", "state"], unique=False
    )
    op.create_index(
        "ix_downloaded_files_camera_end", "downloaded_files", ["camera_id", "range_end"], unique=False
    )

    op.create_table(
        "sync_status",
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_job_id", sa.String(length=36), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["video_sources.id"],
            name=op.f("fk_sync_status_source_id_video_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_sync_status")),
    )


def downgrade() -> None:
    op.drop_table("sync_status")
    op.drop_index("ix_downloaded_files_camera_end", table_name="downloaded_files")
    op.drop_index("ix_downloaded_files_source_state", table_name="downloaded_files")
    op.drop_table("downloaded_files")
    op.drop_index("ix_recordings_camera_start", table_name="recordings")
    op.drop_table("recordings")
