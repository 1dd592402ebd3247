"""reports: names and reason codes on download events, names on rolled-up usage, export records,
scheduled reports, the token-sharing threshold, and which platform fetches were part of a pull

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (SQLite keeps each table's AUTOINCREMENT and rows; nothing is rewritten).
    for name, kind in (
        ("customer_name", sa.String(200)),
        ("license_name", sa.String(200)),
        ("token_name", sa.String(200)),
        ("reason_code", sa.String(32)),
        ("part_of_pull", sa.Boolean()),
    ):
        op.add_column("download_events", sa.Column(name, kind, nullable=True))
    for name in ("customer_name", "license_name"):
        op.add_column("usage_daily", sa.Column(name, sa.String(200), nullable=True))
    op.add_column("organizations", sa.Column("sharing_networks", sa.Integer(), nullable=True))
    # Names as they are now for what happened before names were captured (renamed since: today's name).
    op.execute(
        "UPDATE download_events SET customer_name = "
        "(SELECT name FROM organizations WHERE organizations.id = download_events.customer_id) "
        "WHERE customer_id IS NOT NULL"
    )
    op.execute(
        "UPDATE download_events SET license_name = "
        "(SELECT name FROM licenses WHERE licenses.id = download_events.license_id) "
        "WHERE license_id IS NOT NULL"
    )
    op.execute(
        "UPDATE download_events SET token_name = "
        "(SELECT name FROM tokens WHERE tokens.id = download_events.token_id) "
        "WHERE token_id IS NOT NULL"
    )
    op.execute(
        "UPDATE usage_daily SET customer_name = "
        "(SELECT name FROM organizations WHERE organizations.id = usage_daily.customer_id)"
    )
    op.execute(
        "UPDATE usage_daily SET license_name = (SELECT name FROM licenses WHERE licenses.id = usage_daily.license_id)"
    )
    op.create_table(
        "export_records",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("vendor_id", sa.Integer(), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),  # pulls | activity | usage | audit-log
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),  # JSON
        sa.Column("actor", sa.String(320), nullable=False),  # who, as the admin log names them
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),  # streaming | complete | aborted
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
    )
    op.create_table(
        "report_schedules",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("vendor_id", sa.Integer(), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("cadence", sa.String(8), nullable=False),  # weekly | monthly
        sa.Column("group_by", sa.String(40), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),  # JSON list of addresses
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("report_schedules")
    op.drop_table("export_records")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("sharing_networks")
    with op.batch_alter_table("usage_daily") as batch:
        batch.drop_column("license_name")
        batch.drop_column("customer_name")
    with op.batch_alter_table("download_events") as batch:
        for name in ("part_of_pull", "reason_code", "token_name", "license_name", "customer_name"):
            batch.drop_column(name)
