"""ids never reused, sign-in throttle counters, license rows clamped into usable values

SQLite hands a deleted row's id to the next insert unless the table is AUTOINCREMENT: a customer created
after another was deleted got its id, and with it the download history still naming that id. The tables
whose ids are named elsewhere are rebuilt with AUTOINCREMENT, and every table's sequence is raised above
the highest id that download events, daily usage or the admin log still name (on PostgreSQL the
sequences are only raised likewise). License names, grace days and dates are clamped into what headers
and date arithmetic can carry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00
"""

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> what else names its ids: (table, column) pairs, and admin log object types
REFERENCED = {
    "organizations": (
        [
            ("download_events", "customer_id"),
            ("download_events", "vendor_id"),
            ("usage_daily", "customer_id"),
            ("usage_daily", "vendor_id"),
        ],
        ("customer", "vendor"),
    ),
    "users": ([], ("user",)),
    "tokens": ([("download_events", "token_id")], ("token",)),
    "licenses": ([("download_events", "license_id"), ("usage_daily", "license_id")], ("license",)),
    "invitations": ([], ("invitation",)),
    "tag_history": ([], ()),
}
ACTOR = re.compile(r"^(user|token):(\d+)\b")  # "token:12 (ci)", "user:5 (a@b.test)"
ACTOR_TABLES = {"user": "users", "token": "tokens"}

NAME_LENGTH = 200
MAX_GRACE_DAYS = 3650
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 12, 31, tzinfo=UTC)
DAY = timedelta(days=1)
licenses = sa.table(
    "licenses",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("grace_days", sa.Integer),
    sa.column("valid_from", sa.DateTime(timezone=True)),
    sa.column("valid_until", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "throttle_counters",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttle_counters")),
    )
    bind = op.get_bind()
    floors = _highest_named_ids(bind)
    for table, floor in floors.items():
        if bind.dialect.name == "sqlite":
            # a rebuild: SQLite cannot add AUTOINCREMENT to a table (foreign keys are off here, see env.py)
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass
        _raise_sequence(bind, table, floor)
    _clamp_licenses(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in REFERENCED:
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": False}):
                pass
    op.drop_table("throttle_counters")


def _highest_named_ids(bind: sa.Connection) -> dict[str, int]:
    floors = {}
    for table, (columns, _types) in REFERENCED.items():
        highest = [bind.scalar(sa.text(f"SELECT max(id) FROM {table}")) or 0]  # noqa: S608 - names are constants
        for other, column in columns:
            highest.append(bind.scalar(sa.text(f"SELECT max({column}) FROM {other}")) or 0)  # noqa: S608
        floors[table] = max(highest)
    by_type = {kind: table for table, (_, kinds) in REFERENCED.items() for kind in kinds}
    for object_type, object_id, actor in bind.execute(sa.text("SELECT object_type, object_id, actor FROM admin_audit")):
        if object_type in by_type and str(object_id).isdigit():
            floors[by_type[object_type]] = max(floors[by_type[object_type]], int(object_id))
        if named := ACTOR.match(actor or ""):
            table = ACTOR_TABLES[named.group(1)]
            floors[table] = max(floors[table], int(named.group(2)))
    return floors


def _raise_sequence(bind: sa.Connection, table: str, floor: int) -> None:
    """The next id of `table` comes after `floor`; a sequence is never lowered."""
    if bind.dialect.name == "sqlite":
        current = bind.scalar(sa.text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table})
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :seq)"),
            {"t": table, "seq": max(floor, current or 0)},
        )
    elif bind.dialect.name == "postgresql" and floor > 0:
        bind.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                "greatest(:floor, (SELECT last_value FROM pg_sequences "
                "WHERE schemaname || '.' || sequencename = pg_get_serial_sequence(:t, 'id'))))"
            ),
            {"t": table, "floor": floor},
        )


def clean_name(name: str, license_id: int) -> str:
    """Line breaks and tabs become spaces, other control characters go, at most 200 characters."""
    spaced = re.sub(r"[\t\n\r\v\f]+", " ", name or "")
    cleaned = "".join(c for c in spaced if unicodedata.category(c) != "Cc").strip()[:NAME_LENGTH].strip()
    return cleaned or f"License {license_id}"


def _aware(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def clamp_window(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    """Both ends into the years 2000-9000, the end still after the start (a license must end after it starts)."""
    start, end = (None if m is None else min(max(m, EARLIEST), LATEST) for m in (start, end))
    if start is not None and end is not None and end <= start:
        if start + DAY <= LATEST:
            end = start + DAY
        else:
            start = end - DAY
    return start, end


def _clamp_licenses(bind: sa.Connection) -> None:
    for row in bind.execute(sa.select(licenses)).all():
        before = {
            "name": row.name,
            "grace_days": row.grace_days,
            "valid_from": _aware(row.valid_from),
            "valid_until": _aware(row.valid_until),
        }
        valid_from, valid_until = clamp_window(before["valid_from"], before["valid_until"])
        after = {
            "name": clean_name(row.name, row.id),
            "grace_days": min(max(row.grace_days or 0, 0), MAX_GRACE_DAYS),
            "valid_from": valid_from,
            "valid_until": valid_until,
        }
        if after != before:
            bind.execute(sa.update(licenses).where(licenses.c.id == row.id).values(**after))
