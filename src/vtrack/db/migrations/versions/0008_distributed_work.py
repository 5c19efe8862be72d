"""leases for distributed job runs and live analytics channels

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("worker", sa.String(255), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("analytics_runs") as batch:
        batch.add_column(sa.Column("node", sa.String(255), nullable=True))
    op.create_table(
        "analytics_leases",
        sa.Column(
            "channel_id",
            sa.String(36),
            sa.ForeignKey("analytics_channels.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("node", sa.String(255), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_analytics_leases_node", "analytics_leases", ["node"])
    op.create_table(
        "analytics_nodes",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("analytics_nodes")
    op.drop_index("ix_analytics_leases_node", table_name="analytics_leases")
    op.drop_table("analytics_leases")
    with op.batch_alter_table("analytics_runs") as batch:
        batch.drop_column("node")
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("worker")
        batch.drop_column("attempts")
