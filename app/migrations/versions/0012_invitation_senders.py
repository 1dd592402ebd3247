"""invitation senders: who sent each invitation, so leaving or losing a role revokes what they sent

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, no constraint (SQLite keeps the table's AUTOINCREMENT; a sender's id outlives them)
    op.add_column("invitations", sa.Column("invited_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("invited_by")
