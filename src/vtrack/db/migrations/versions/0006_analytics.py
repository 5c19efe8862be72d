"""people analytics: live channels, runs, tracks, crossing and zone events, per-minute counts

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_channels",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("camera_id", sa.String(length=36), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("password_encrypted", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("site", sa.String(length=255), nullable=True),
        sa.Column("detector", sa.String(length=16), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_analytics_channels_camera_id_cameras"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_analytics_channels_name")),
    )
    op.create_index(
        op.f("ix_analytics_channels_camera_id"), "analytics_channels", ["camera_id"], unique=False
    )

    op.create_table(
        "analytics_runs",
        sa.Column("channel_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["analytics_channels.id"],
            name=op.f("fk_analytics_runs_channel_id_analytics_channels"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_runs")),
    )
    op.create_index(
        "ix_analytics_runs_channel_started", "analytics_runs", ["channel_id", "started_at"], unique=False
    )

    op.create_table(
        "analytics_counts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("channel_id", sa.String(length=36), nullable=True),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("in_count", sa.Integer(), nullable=False),
        sa.Column("out_count", sa.Integer(), nullable=False),
        sa.Column("dwell_total", sa.Float(), nullable=False),
        sa.Column("male_in", sa.Integer(), nullable=False),
        sa.Column("female_in", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["analytics_runs.id"],
            name=op.f("fk_analytics_counts_run_id_analytics_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_counts")),
        sa.UniqueConstraint("run_id", "minute", "kind", "name", name="uq_analytics_counts_run_minute_name"),
    )
    op.create_index(
        "ix_analytics_counts_channel_minute", "analytics_counts", ["channel_id", "minute"], unique=False
    )

    op.create_table(
        "analytics_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("channel_id", sa.String(length=36), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=True),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("dwell_seconds", sa.Float(), nullable=True),
        sa.Column("gender", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["analytics_runs.id"],
            name=op.f("fk_analytics_events_run_id_analytics_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_events")),
    )
    op.create_index("ix_analytics_events_channel_at", "analytics_events", ["channel_id", "at"], unique=False)
    op.create_index("ix_analytics_events_run_track", "analytics_events", ["run_id", "track_id"], unique=False)

    op.create_table(
        "analytics_tracks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("gender", sa.String(length=8), nullable=False),
        sa.Column("gender_confidence", sa.Float(), nullable=False),
        sa.Column("age", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["analytics_runs.id"],
            name=op.f("fk_analytics_tracks_run_id_analytics_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_tracks")),
        sa.UniqueConstraint("run_id", "track_id", name="uq_analytics_tracks_run_track"),
    )


def downgrade() -> None:
    op.drop_table("analytics_tracks")
    op.drop_index("ix_analytics_events_run_track", table_name="analytics_events")
    op.drop_index("ix_analytics_events_channel_at", table_name="analytics_events")
    op.drop_table("analytics_events")
    op.drop_index("ix_analytics_counts_channel_minute", table_name="analytics_counts")
    op.drop_table("analytics_counts")
    op.drop_index("ix_analytics_runs_channel_started", table_name="analytics_runs")
    op.drop_table("analytics_runs")
    op.drop_index(op.f("ix_analytics_channels_camera_id"), table_name="analytics_channels")
    op.drop_table("analytics_channels")
