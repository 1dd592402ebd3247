"""Usage figures (pulls, version checks, unique clients, bytes, denials) for the API and the portal.

The definitions are in docs/audit.md ("Counting pulls")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Select, case, distinct, func, or_, select, union_all

from app.models import DownloadEvent as E
from app.models import UsageDaily as U
from app.reports import rollup
from app.times import aware

GroupBy = Literal["customer", "license", "repository", "tag", "day"]


async def usage_query(
    conn: Any,
    vendor_id: int,
    group_by: GroupBy,
    since: datetime | None,
    until: datetime | None,
    customer_id: int | None,
    repository: str | None,
) -> Select[Any]:
    """Rolled-up days from `usage_daily`, the rest from raw events, summed per `group_by` key."""
    since, until = _utc(since), _utc(until)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        await rollup.tune_for_reports(conn)
    rolled = await rollup.rolled_up_days(conn, since, until)
    raw_filters = [
        E.vendor_id == vendor_id,
        or_(*(rollup.in_range(lo, hi) for lo, hi in rollup.raw_ranges(since, until, rolled))),
    ]
    rolled_filters = [U.vendor_id == vendor_id, U.day.in_(rolled)]
    if customer_id is not None:
        raw_filters.append(E.customer_id == customer_id)
        rolled_filters.append(U.customer_id == customer_id)
    if repository is not None:
        raw_filters.append(E.repository == repository)
        rolled_filters.append(U.repository == repository)
    parts = [rollup.usage_rows(dialect, raw_filters)]
    if rolled:
        columns = [getattr(U, c.name) for c in parts[0].selected_columns]
        parts.append(select(*columns).where(*rolled_filters))
    rows = union_all(*parts).subquery()
    key = {
        "customer": rows.c.customer_id,
        "license": rows.c.license_id,
        "repository": rows.c.repository,
        "tag": rows.c.tag,
        "day": rows.c.day,
    }[group_by].label("key")
    stmt = (
        select(
            key,
            func.sum(rows.c.pulls).label("pulls"),
            func.sum(rows.c.version_checks).label("version_checks"),
            func.count(distinct(case((rows.c.reads > 0, rows.c.client_ip)))).label("unique_clients"),
            func.sum(rows.c.bytes).label("bytes"),
            func.sum(rows.c.denials).label("denials"),
        )
        .group_by(key)
        .order_by(key)
    )
    if group_by == "tag":
        stmt = stmt.where(rows.c.tag != "")  # tags only; digests are not tags
    return stmt


def _utc(value: datetime | None) -> datetime | None:
    moment = aware(value)
    return moment.astimezone(UTC) if moment is not None else None
