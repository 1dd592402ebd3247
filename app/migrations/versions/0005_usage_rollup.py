"""daily usage rollup; platform and user on download events

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("download_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("user_email", sa.String(length=320), nullable=True))
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("pulls", sa.BigInteger(), nullable=False),
        sa.Column("version_checks", sa.BigInteger(), nullable=False),
        sa.Column("reads", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("denials", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day",
            "vendor_id",
            "customer_id",
            "license_id",
            "repository",
            "tag",
            "client_ip",
            name=op.f("pk_usage_daily"),
        ),
    )
    with op.batch_alter_table("usage_daily", schema=None) as batch_op:
        batch_op.create_index("ix_usage_daily_vendor_day", ["vendor_id", "day"], unique=False)
    op.create_table(
        "usage_rolled_up_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rolled_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_usage_rolled_up_days")),
    )


def downgrade() -> None:
    op.drop_table("usage_rolled_up_days")
    with op.batch_alter_table("usage_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_daily_vendor_day")
    op.drop_table("usage_daily")
    with op.batch_alter_table("download_events", schema=None) as batch_op:
        batch_op.drop_column("user_email")
        batch_op.drop_column("platform")
