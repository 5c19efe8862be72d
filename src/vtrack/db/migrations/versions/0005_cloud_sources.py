"""cloud sources: accounts, sign-ins in flight, the cloud archive index, source owners, change cursors

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[datetime]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _owner(table: str) -> list[sa.Column[str] | sa.ForeignKeyConstraint]:
    return [
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f(f"fk_{table}_owner_id_users"), ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "cloud_accounts",
        sa.Column("id", sa.String(length=36), nullable=False),
        *_owner("cloud_accounts"),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cloud_accounts")),
    )
    op.create_index("ix_cloud_accounts_owner_provider", "cloud_accounts", ["owner_id", "provider"])
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.String(length=64), nullable=False),
        *_owner("oauth_states"),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("verifier_encrypted", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2048), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_oauth_states")),
    )
    op.create_table(
        "cloud_files",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("remote_id", sa.String(length=1024), nullable=False),
        sa.Column("remote_path", sa.String(length=2048), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=128), nullable=True),
        sa.Column("path", sa.String(length=2048), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["video_sources.id"],
            name=op.f("fk_cloud_files_source_id_video_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cloud_files")),
        sa.UniqueConstraint("source_id", "remote_id", name="uq_cloud_files_source_remote"),
    )
    op.create_index("ix_cloud_files_source_hash", "cloud_files", ["source_id", "content_hash"])
    op.create_index("ix_cloud_files_source_state", "cloud_files", ["source_id", "state"])
    op.add_column("sync_status", sa.Column("cursor", sa.Text(), nullable=True))

    # video_sources has no expression indexes, so SQLite's batch rebuild (needed for named foreign keys)
    # loses nothing; PostgreSQL alters in place through the same batch API.
    with op.batch_alter_table("video_sources") as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("account_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            "fk_video_sources_owner_id_users", "users", ["owner_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_foreign_key(
            "fk_video_sources_account_id_cloud_accounts",
            "cloud_accounts",
            ["account_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_video_sources_owner_id", ["owner_id"])


def downgrade() -> None:
    with op.batch_alter_table("video_sources") as batch_op:
        batch_op.drop_index("ix_video_sources_owner_id")
        batch_op.drop_constraint("fk_video_sources_account_id_cloud_accounts", type_="foreignkey")
        batch_op.drop_constraint("fk_video_sources_owner_id_users", type_="foreignkey")
        batch_op.drop_column("account_id")
        batch_op.drop_column("owner_id")
    op.drop_column("sync_status", "cursor")
    op.drop_index("ix_cloud_files_source_state", table_name="cloud_files")
    op.drop_index("ix_cloud_files_source_hash", table_name="cloud_files")
    op.drop_table("cloud_files")
    op.drop_table("oauth_states")
    op.drop_index("ix_cloud_accounts_owner_provider", table_name="cloud_accounts")
    op.drop_table("cloud_accounts")
