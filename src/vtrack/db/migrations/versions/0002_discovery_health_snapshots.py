"""discovery, health and snapshots: cameras from sources, hysteresis counters, events

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ADD COLUMN (no batch): SQLite supports it natively, and a batch table rebuild would lose the
# expression indexes on cameras, which SQLite cannot reflect.
_CAMERA_COLUMNS = (
    ("channel", sa.Integer(), True),
    ("sub_stream_url", sa.String(length=2048), True),
    ("snapshot_url", sa.String(length=2048), True),
    ("serial_number", sa.String(length=128), True),
    ("firmware", sa.String(length=128), True),
    ("last_checked_at", sa.DateTime(timezone=True), True),
)


_CAMERA_EXPRESSION_INDEXES = (
    ("uq_cameras_group_name", [sa.text("coalesce(group_id, '')"), sa.text("lower(name)")], True),
    ("ix_cameras_name_lower", [sa.text("lower(name)")], False),
)


def _add_camera_source_sqlite() -> None:
    """SQLite cannot add a named foreign key in place: rebuild the table (batch copy-and-move).

    The rebuild cannot carry the expression indexes (SQLite does not reflect them), so they are dropped
    first and created again afterwards, exactly as 0001 made them.
    """
    for name, _columns, _unique in _CAMERA_EXPRESSION_INDEXES:
        op.drop_index(name, table_name="cameras")
    with op.batch_alter_table("cameras", recreate="always") as batch_op:
        batch_op.add_column(sa.Column("source_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            "fk_cameras_source_id_video_sources", "video_sources", ["source_id"], ["id"], ondelete="SET NULL"
        )
    for name, columns, unique in _CAMERA_EXPRESSION_INDEXES:
        op.create_index(name, "cameras", columns, unique=unique)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _add_camera_source_sqlite()
    else:
        op.add_column("cameras", sa.Column("source_id", sa.String(length=36), nullable=True))
        op.create_foreign_key(
            op.f("fk_cameras_source_id_video_sources"),
            "cameras",
            "video_sources",
            ["source_id"],
            ["id"],
            ondelete="SET NULL",
        )
    for name, type_, nullable in _CAMERA_COLUMNS:
        op.add_column("cameras", sa.Column(name, type_, nullable=nullable))
    op.add_column("cameras", sa.Column("capabilities", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("cameras", sa.Column("health_failures", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("cameras", sa.Column("health_successes", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(op.f("ix_cameras_source_id"), "cameras", ["source_id"], unique=False)

    op.add_column("camera_health", sa.Column("first_frame_ms", sa.Float(), nullable=True))
    op.add_column("camera_health", sa.Column("error_kind", sa.String(length=32), nullable=True))

    op.add_column("camera_snapshots", sa.Column("thumbnail_path", sa.String(length=1024), nullable=True))
    op.add_column("camera_snapshots", sa.Column("thumbnail_size", sa.Integer(), nullable=True))
    op.add_column("camera_snapshots", sa.Column("method", sa.String(length=16), nullable=True))
    op.create_index(op.f("ix_camera_snapshots_expires_at"), "camera_snapshots", ["expires_at"], unique=False)

    op.add_column("video_sources", sa.Column("probed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "video_sources", sa.Column("status", sa.String(length=16), nullable=False, server_default="ok")
    )
    op.add_column("video_sources", sa.Column("last_error", sa.String(length=1000), nullable=True))

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_at", "events", ["at"], unique=False)
    op.create_index(op.f("ix_events_kind"), "events", ["kind"], unique=False)
    op.create_index("ix_events_subject", "events", ["subject_type", "subject_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_events_subject", table_name="events")
    op.drop_index(op.f("ix_events_kind"), table_name="events")
    op.drop_index("ix_events_at", table_name="events")
    op.drop_table("events")
    for column in ("last_error", "status", "probed_at"):
        op.drop_column("video_sources", column)
    op.drop_index(op.f("ix_camera_snapshots_expires_at"), table_name="camera_snapshots")
    for column in ("method", "thumbnail_size", "thumbnail_path"):
        op.drop_column("camera_snapshots", column)
    for column in ("error_kind", "first_frame_ms"):
        op.drop_column("camera_health", column)
    op.drop_index(op.f("ix_cameras_source_id"), table_name="cameras")
    for column in ("health_successes", "health_failures", "capabilities"):
        op.drop_column("cameras", column)
    for name, _type, _nullable in reversed(_CAMERA_COLUMNS):
        op.drop_column("cameras", name)
    if op.get_bind().dialect.name == "sqlite":
        for name, _columns, _unique in _CAMERA_EXPRESSION_INDEXES:
            op.drop_index(name, table_name="cameras")
        with op.batch_alter_table("cameras", recreate="always") as batch_op:
            batch_op.drop_constraint("fk_cameras_source_id_video_sources", type_="foreignkey")
            batch_op.drop_column("source_id")
        for name, columns, unique in _CAMERA_EXPRESSION_INDEXES:
            op.create_index(name, "cameras", columns, unique=unique)
    else:
        op.drop_constraint(op.f("fk_cameras_source_id_video_sources"), "cameras", type_="foreignkey")
        op.drop_column("cameras", "source_id")
