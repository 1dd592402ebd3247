"""Usage figures per UTC day, summed from download events so month reports need not scan raw events.

One query, `usage_rows`, turns raw events into rows of (day, vendor, customer, license, repository, tag,
client) with their pulls, version checks, reads, bytes and denials. The rollup stores those rows for
complete days; reports add the rolled-up days to the same query run over the rest. A pull is attributed
to its first request (docs/audit.md), so each pull lands in exactly one row and the rows add up exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Select,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from app.models import DownloadEvent as E
from app.models import UsageDaily, UsageRolledUpDay
from registry.sql import upsert, write_transaction
from registry.tables import Manifest, ManifestReference, Repository

log = logging.getLogger(__name__)
REPORT_WORK_MEM = "256MB"  # a cap, per report transaction: a month of the worst case sorts ~110 MB
READ_ACTIONS = ("manifest.get", "manifest.head", "blob.get", "denied")
usage_table: Table = UsageDaily.__table__  # type: ignore[assignment]
rolled_table: Table = UsageRolledUpDay.__table__  # type: ignore[assignment]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def event_day(dialect: str) -> ColumnElement[Any]:
    """The UTC date of an event, whatever the session's time zone."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", E.at), Date)
    return func.date(E.at)


def _minute(dialect: str) -> ColumnElement[Any]:
    return func.date_trunc("minute", E.at) if dialect == "postgresql" else func.strftime("%Y-%m-%d %H:%M", E.at)


def _is_index_child() -> ColumnElement[bool]:
    """The event fetched a manifest that an index in the same repository lists (a platform fetch)."""
    return exists(
        select(1)
        .select_from(ManifestReference)
        .join(Manifest, Manifest.id == ManifestReference.manifest_id)
        .join(Repository, Repository.id == Manifest.repository_id)
        .where(
            ManifestReference.digest == E.digest,
            ManifestReference.is_manifest.is_(True),
            Repository.name == E.repository,
        )
    )


def _own_pull() -> ColumnElement[bool]:
    """A manifest GET that is a pull of its own, not a platform fetched as part of its index's pull.

    The writer sets `part_of_pull` on platform manifests (true: fetched after its index by the same token);
    rows stored before it did have NULL there and fall back to asking whether an index lists the digest."""
    return or_(E.part_of_pull.is_(False), and_(E.part_of_pull.is_(None), ~_is_index_child()))


def _days_latest(dialect: str, id_column: Any, name_column: Any) -> ColumnElement[Any]:
    """The name of the day's latest event of the same id that has one, so a rename during a day reads the
    same in every row of that day (rows stored before events carried names have none)."""
    return func.first_value(name_column).over(
        partition_by=(event_day(dialect), id_column), order_by=(name_column.is_(None), E.at.desc(), E.id.desc())
    )


def usage_rows(dialect: str, where: Iterable[ColumnElement[bool]]) -> Select[Any]:
    """Raw events matching `where`, summed per day, vendor, customer, license, repository, tag and client,
    with the name the customer and the license had at the day's last event that carried one."""
    ok = and_(E.status < 400, E.action != "denied")
    is_pull = case((and_(ok, E.action == "manifest.get", _own_pull()), 1), else_=0)
    # one pull per token, repository, digest and minute, attributed to its first request
    first = func.row_number().over(
        partition_by=(
            is_pull,
            func.coalesce(E.token_id, 0),
            E.repository,
            func.coalesce(E.digest, ""),
            _minute(dialect),
        ),
        order_by=(E.at, E.id),
    )
    events = (
        select(
            event_day(dialect).label("day"),
            func.coalesce(E.vendor_id, 0).label("vendor_id"),
            func.coalesce(E.customer_id, 0).label("customer_id"),
            func.coalesce(E.license_id, 0).label("license_id"),
            E.repository.label("repository"),
            case((E.reference.like("sha%:%"), ""), else_=func.coalesce(E.reference, "")).label("tag"),
            func.coalesce(E.client_ip, "").label("client_ip"),
            case((and_(is_pull == 1, first == 1), 1), else_=0).label("pull"),
            case((and_(ok, E.action == "manifest.head"), 1), else_=0).label("check"),
            case((and_(ok, E.action.in_(("manifest.get", "manifest.head"))), 1), else_=0).label("read"),
            case((ok, E.bytes), else_=0).label("sent"),
            case((E.action == "denied", 1), else_=0).label("denial"),
            _days_latest(dialect, E.customer_id, E.customer_name).label("customer_name"),
            _days_latest(dialect, E.license_id, E.license_name).label("license_name"),
        )
        .where(E.action.in_(READ_ACTIONS), *where)
        .subquery()
    )
    dims = (
        events.c.day,
        events.c.vendor_id,
        events.c.customer_id,
        events.c.license_id,
        events.c.repository,
        events.c.tag,
        events.c.client_ip,
    )
    # bigint, not the numeric sum() gives, so the union with usage_daily adds up cheaply
    return select(
        *dims,
        cast(func.sum(events.c.pull), BigInteger).label("pulls"),
        cast(func.sum(events.c.check), BigInteger).label("version_checks"),
        cast(func.sum(events.c.read), BigInteger).label("reads"),
        cast(func.sum(events.c.sent), BigInteger).label("bytes"),
        cast(func.sum(events.c.denial), BigInteger).label("denials"),
        func.max(events.c.customer_name).label("customer_name"),
        func.max(events.c.license_name).label("license_name"),
    ).group_by(*dims)


async def tune_for_reports(conn: AsyncConnection) -> None:
    """For this transaction on PostgreSQL: aggregate in memory (a month is ~10^6 rows), and no JIT, whose
    compile time for these many-expression plans (seconds) exceeds what it saves."""
    await conn.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
    await conn.execute(text("SET LOCAL jit = off"))


async def roll_up_day(engine: AsyncEngine, day: date) -> None:
    """(Re)compute one day's rows; the day's marker row is locked first, so a late event waits for us."""
    async with write_transaction(engine) as conn:
        now = datetime.now(UTC)
        await conn.execute(upsert(conn, rolled_table, ["day"], {"day": day, "rolled_up_at": now}))
        await conn.execute(delete(usage_table).where(usage_table.c.day == day))
        start = day_start(day)
        if conn.dialect.name == "postgresql":
            await tune_for_reports(conn)
        rows = usage_rows(conn.dialect.name, [E.at >= start, E.at < start + timedelta(days=1)])
        await conn.execute(insert(usage_table).from_select([c.name for c in rows.selected_columns], rows))


async def roll_up_pending(engine: AsyncEngine, limit: int = 31, today: date | None = None) -> list[date]:
    """Roll up complete days with events that have no current rollup, newest first; returns the days done."""
    today = today or datetime.now(UTC).date()
    async with engine.connect() as conn:
        first = (await conn.execute(select(func.min(E.at)))).scalar()
        if first is None:
            return []
        oldest = first.astimezone(UTC).date() if first.tzinfo else first.date()
        done = set((await conn.execute(select(rolled_table.c.day).where(rolled_table.c.day >= oldest))).scalars())
    pending = [d for d in _days_back(today - timedelta(days=1), oldest) if d not in done][:limit]
    for day in pending:
        await roll_up_day(engine, day)
    return pending


def _days_back(newest: date, oldest: date) -> Iterable[date]:
    day = newest
    while day >= oldest:
        yield day
        day -= timedelta(days=1)


async def mark_stale(conn: AsyncConnection, days: set[date], today: date | None = None) -> None:
    """Events just stored for already rolled-up days make those rollups stale (run in the insert's transaction)."""
    today = today or datetime.now(UTC).date()
    past = sorted(d for d in days if d < today)
    if past:
        await conn.execute(delete(rolled_table).where(rolled_table.c.day.in_(past)))


async def rolled_up_days(conn: Any, since: datetime | None, until: datetime | None) -> list[date]:
    """Days wholly inside [since, until) whose rollup is current."""
    stmt = select(rolled_table.c.day).order_by(rolled_table.c.day)
    if since is not None:
        first = since.date() if since == day_start(since.date()) else since.date() + timedelta(days=1)
        stmt = stmt.where(rolled_table.c.day >= first)
    if until is not None:
        stmt = stmt.where(rolled_table.c.day < until.date())  # the day `until` falls in is not whole
    return list((await conn.execute(stmt)).scalars())


def raw_ranges(
    since: datetime | None, until: datetime | None, rolled: list[date]
) -> list[tuple[datetime | None, datetime | None]]:
    """The parts of [since, until) not covered by the rolled-up days (sorted), as half-open ranges."""
    ranges: list[tuple[datetime | None, datetime | None]] = []
    cursor = since
    for day in rolled:
        start = day_start(day)
        if cursor is None or cursor < start:
            ranges.append((cursor, start))
        cursor = start + timedelta(days=1)
    if until is None or cursor is None or cursor < until:
        ranges.append((cursor, until))
    return ranges


def in_range(lo: datetime | None, hi: datetime | None) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [literal(True)]
    if lo is not None:
        conditions.append(E.at >= lo)
    if hi is not None:
        conditions.append(E.at < hi)
    return and_(*conditions)
