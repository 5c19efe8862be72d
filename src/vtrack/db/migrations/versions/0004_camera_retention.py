"""per-camera archive retention limits

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cameras", sa.Column("retention_max_age_days", sa.Integer(), nullable=True))
    op.add_column("cameras", sa.Column("retention_max_gb", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("cameras", "retention_max_gb")
    op.drop_column("cameras", "retention_max_age_days")
