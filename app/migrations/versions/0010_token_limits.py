"""pull token restrictions and download quotas: networks and limits on tokens, limits and token
defaults on licenses, and the per-node quota counters

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable): no table rebuild on SQLite
    op.add_column("tokens", sa.Column("allowed_cidrs", sa.Text(), nullable=True))
    op.add_column("tokens", sa.Column("limits", sa.Text(), nullable=True))
    op.add_column("licenses", sa.Column("limits", sa.Text(), nullable=True))
    op.add_column("licenses", sa.Column("token_defaults", sa.Text(), nullable=True))
    op.create_table(
        "quota_usage",
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("span", sa.String(length=5), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("pulls", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("period", "span", "scope", "owner_id", "node", name=op.f("pk_quota_usage")),
    )


def downgrade() -> None:
    op.drop_table("quota_usage")
    with op.batch_alter_table("licenses") as batch_op:
        batch_op.drop_column("token_defaults")
        batch_op.drop_column("limits")
    with op.batch_alter_table("tokens") as batch_op:
        batch_op.drop_column("limits")
        batch_op.drop_column("allowed_cidrs")
