"""/api/v1/usage: pulls, version checks, unique clients and bytes, grouped by customer, license,
repository, tag or day. The definitions are in docs/audit.md ("Counting pulls")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from litestar import Controller, get
from litestar.params import FromQuery
from sqlalchemy import Select, case, distinct, func, or_, select, union_all

from app import services
from app.api.common import Caller, Session
from app.audit import rollup
from app.models import DownloadEvent as E
from app.models import UsageDaily as U
from app.roles import Permission

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
    aware = services.aware(value)
    return aware.astimezone(UTC) if aware is not None else None


def _key(group_by: GroupBy, value: Any) -> Any:
    if group_by == "day":
        return value if isinstance(value, str) else value.isoformat()
    if group_by in ("customer", "license"):
        return value or None  # 0: a vendor token, or no license
    return value


class UsageController(Controller):
    path = "/api/v1/usage"
    tags = ["downloads"]

    @get("/")
    async def usage(
        self,
        caller: Caller,
        session: Session,
        group_by: FromQuery[GroupBy] = "customer",
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        customer_id: FromQuery[int | None] = None,
        repository: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        caller.require(Permission.READ)
        conn = await session.connection()
        stmt = await usage_query(conn, caller.vendor_id, group_by, since, until, customer_id, repository)
        rows = (await conn.execute(stmt)).all()
        return {
            "group_by": group_by,
            "items": [
                {
                    "key": _key(group_by, r.key),
                    "pulls": int(r.pulls),
                    "version_checks": int(r.version_checks),
                    "unique_clients": r.unique_clients,
                    "bytes": int(r.bytes),
                    "denials": int(r.denials),
                }
                for r in rows
            ],
        }
