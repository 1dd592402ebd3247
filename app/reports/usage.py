"""Usage reports (pulls, version checks, unique clients, bytes, denials) for the API, its export and the portals.

One query answers them all: rolled-up days from `usage_daily`, the rest from raw events, summed per one or two
dimensions (customer, license, repository, tag, day, month), with the customer's and license's names as they
were (the latest name in the period). The definitions are in docs/audit.md ("Counting pulls")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import Select, String, case, cast, distinct, false, func, literal, or_, select, tuple_, union_all
from sqlalchemy.sql.elements import ColumnElement

from app.models import DownloadEvent as E
from app.models import License, Organization
from app.models import UsageDaily as U
from app.reports import rollup
from app.services.errors import Invalid
from app.times import EARLIEST, LATEST, aware, utcnow, within_bounds

Dimension = Literal["customer", "license", "repository", "tag", "day", "month"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)
FIGURES = ("pulls", "version_checks", "unique_clients", "bytes", "denials")
# What each dimension puts in an item, in order; these are also the CSV columns before the figures.
FIELDS: dict[Dimension, tuple[str, ...]] = {
    "customer": ("customer_id", "customer_name"),
    "license": ("license_id", "license_name"),
    "repository": ("repository",),
    "tag": ("tag",),
    "day": ("day",),
    "month": ("month",),
}
NO_CUSTOMER, NO_LICENSE = "(vendor tokens)", "(no license)"


def parse_group_by(value: str | Sequence[str]) -> tuple[Dimension, ...]:
    """`customer`, or two dimensions comma-separated (`customer,month`); anything else is Invalid."""
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else [p.strip() for p in value]
    allowed = "|".join(DIMENSIONS)
    if not 1 <= len(parts) <= 2:
        raise Invalid("group_by", f"group_by takes one or two of {allowed}, comma-separated")
    for part in parts:
        if part not in DIMENSIONS:
            raise Invalid("group_by", f"{part[:40]!r} is not a grouping; use {allowed} (or two, comma-separated)")
    if len(parts) == 2 and parts[0] == parts[1]:
        raise Invalid("group_by", "group_by names a dimension twice")
    return tuple(next(d for d in DIMENSIONS if d == part) for part in parts)


def columns(group_by: Sequence[Dimension]) -> tuple[str, ...]:
    """The fields of an item (and the CSV columns), in order."""
    return tuple(f for d in group_by for f in FIELDS[d]) + FIGURES


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime


async def period(
    conn: Any, vendor_id: int, since: datetime | None, until: datetime | None, now: datetime | None = None
) -> Period:
    """The period a report covers, always concrete: as asked, or from the vendor's first event up to now."""
    for field, moment in (("since", since), ("until", until)):
        if not within_bounds(moment):
            raise Invalid(field, f"{field} must be between {EARLIEST.year} and {LATEST.year}")
    until = _utc(until) or now or utcnow()
    since = _utc(since)
    if since is None:
        first = (await conn.execute(select(func.min(E.at)).where(E.vendor_id == vendor_id))).scalar()
        since = min(_utc(first) or until, until)
    return Period(since, until)


async def _rows(
    conn: Any,
    vendor_id: int,
    since: datetime | None,
    until: datetime | None,
    customer_id: int | None,
    repository: str | None,
) -> Any:
    """The union of raw-event rows and rolled-up rows for the period, as a subquery."""
    since, until = _utc(since), _utc(until)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        await rollup.tune_for_reports(conn)
    rolled = await rollup.rolled_up_days(conn, since, until)
    raw_filters = [
        E.vendor_id == vendor_id,
        or_(false(), *(rollup.in_range(lo, hi) for lo, hi in rollup.raw_ranges(since, until, rolled))),
    ]
    # a contiguous run of days as a range, which the planner estimates well
    contiguous = bool(rolled) and (rolled[-1] - rolled[0]).days == len(rolled) - 1
    rolled_filters = [
        U.vendor_id == vendor_id,
        U.day.between(rolled[0], rolled[-1]) if contiguous else U.day.in_(rolled),
    ]
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
    return union_all(*parts).subquery()


def _day_text(rows: Any, dialect: str) -> ColumnElement[str]:
    """`YYYY-MM-DD` (SQLite stores dates as that text already)."""
    return func.to_char(rows.c.day, "YYYY-MM-DD", type_=String) if dialect == "postgresql" else cast(rows.c.day, String)


def _latest_name(rows: Any, column: Any, dialect: str) -> ColumnElement[Any]:
    """The name of a group's latest day (a day's rows carry that day's latest name)."""
    dated = case((column.is_not(None), _day_text(rows, dialect).concat(column)))
    return func.substr(func.max(dated), 11)


def _figures(rows: Any) -> list[ColumnElement[Any]]:
    return [
        func.sum(rows.c.pulls).label("pulls"),
        func.sum(rows.c.version_checks).label("version_checks"),
        func.count(distinct(case((rows.c.reads > 0, rows.c.client_ip)))).label("unique_clients"),
        func.sum(rows.c.bytes).label("bytes"),
        func.sum(rows.c.denials).label("denials"),
    ]


async def usage_query(
    conn: Any,
    vendor_id: int,
    group_by: str | Sequence[str],
    since: datetime | None,
    until: datetime | None,
    customer_id: int | None,
    repository: str | None,
    with_totals: bool = False,
) -> Select[Any]:
    """Usage per group: the dimensions' fields (`columns(group_by)`, names beside ids) and the figures.

    `with_totals` (PostgreSQL) adds a row of totals over all groups, flagged `is_total`: one pass over the rows
    instead of a second query (see `totals_in_one_pass`); grouped by tag, the caller then drops the group of
    reads by digest (tag ""), which only the totals count."""
    dims = parse_group_by(group_by)
    dialect = conn.dialect.name
    rows = await _rows(conn, vendor_id, since, until, customer_id, repository)
    keys: list[ColumnElement[Any]] = []
    selected: list[ColumnElement[Any]] = []
    for dim in dims:
        if dim == "customer":
            keys.append(rows.c.customer_id)
            selected += [rows.c.customer_id, _latest_name(rows, rows.c.customer_name, dialect).label("customer_name")]
        elif dim == "license":
            keys.append(rows.c.license_id)
            selected += [rows.c.license_id, _latest_name(rows, rows.c.license_name, dialect).label("license_name")]
        elif dim == "month":
            month = func.substr(_day_text(rows, dialect), 1, 7)
            keys.append(month)
            selected.append(month.label("month"))
        else:
            keys.append(rows.c[dim])
            selected.append(rows.c[dim])
    if with_totals:
        stmt = select(*selected, *_figures(rows), func.grouping(*keys).label("is_total"))
        stmt = stmt.group_by(func.grouping_sets(tuple_(*keys), tuple_())).order_by(*keys)
    else:
        stmt = select(*selected, *_figures(rows)).group_by(*keys).order_by(*keys)
    if "tag" in dims and not with_totals:
        stmt = stmt.where(rows.c.tag != "")  # tags only; digests are not tags (with totals: left out after)
    return stmt


async def totals_query(
    conn: Any,
    vendor_id: int,
    since: datetime | None,
    until: datetime | None,
    customer_id: int | None,
    repository: str | None,
) -> Select[Any]:
    """The figures over the whole period: unique clients distinct over it, not summed over groups."""
    rows = await _rows(conn, vendor_id, since, until, customer_id, repository)
    return select(literal(1).label("one"), *_figures(rows))


@dataclass
class Names:
    """Current names, for rows stored before events carried names; a deleted one reads as such."""

    customers: dict[int, str]
    licenses: dict[int, str]

    def customer(self, customer_id: int | None, name: str | None) -> str:
        if not customer_id:
            return NO_CUSTOMER
        return name or self.customers.get(customer_id) or f"(deleted customer {customer_id})"

    def license(self, license_id: int | None, name: str | None) -> str:
        if not license_id:
            return NO_LICENSE
        return name or self.licenses.get(license_id) or f"(deleted license {license_id})"


async def current_names(conn: Any, vendor_id: int) -> Names:
    customers = await conn.execute(
        select(Organization.id, Organization.name).where(
            Organization.vendor_id == vendor_id, Organization.kind == "customer"
        )
    )
    licenses = await conn.execute(select(License.id, License.name).where(License.vendor_id == vendor_id))
    return Names({r.id: r.name for r in customers}, {r.id: r.name for r in licenses})


def item(row: Any, names: Names) -> dict[str, Any]:
    """One group of a report as the API answers it (and a CSV row: the same fields, in `columns` order)."""
    fields = row._mapping
    out: dict[str, Any] = {}
    for key in fields:
        value = fields[key]
        if key in ("one", "is_total"):
            continue
        if key in ("customer_id", "license_id"):
            out[key] = value or None  # 0: a vendor token, or no license
        elif key == "customer_name":
            out[key] = names.customer(fields["customer_id"], value)
        elif key == "license_name":
            out[key] = names.license(fields["license_id"], value)
        elif key == "day":
            out[key] = value if isinstance(value, str) else value.isoformat()
        elif key in FIGURES:
            out[key] = int(value or 0)
        else:
            out[key] = value
    return out


def totals_in_one_pass(dialect: str, dims: Sequence[Dimension]) -> bool:
    """PostgreSQL sums groups and totals in one pass (GROUPING SETS); SQLite has none, so a second query."""
    return dialect == "postgresql"


@dataclass(frozen=True)
class UsageReport:
    period: Period
    generated_at: datetime
    group_by: tuple[Dimension, ...]
    items: list[dict[str, Any]]
    totals: dict[str, int]

    def json(self) -> dict[str, Any]:
        return {
            "period": {"since": self.period.since.isoformat(), "until": self.period.until.isoformat()},
            "generated_at": self.generated_at.isoformat(),
            "group_by": ",".join(self.group_by),
            "items": self.items,
            "totals": self.totals,
        }


async def usage_report(
    conn: Any,
    vendor_id: int,
    group_by: str | Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
    customer_id: int | None = None,
    repository: str | None = None,
) -> UsageReport:
    """The report the API, the vendor's downloads page and the charts show: items per group and totals."""
    dims = parse_group_by(group_by)
    generated_at = utcnow()
    span = await period(conn, vendor_id, since, until, generated_at)
    names = await current_names(conn, vendor_id)
    one_pass = totals_in_one_pass(conn.dialect.name, dims)
    stmt = await usage_query(conn, vendor_id, dims, span.since, span.until, customer_id, repository, one_pass)
    rows = (await conn.execute(stmt)).all()
    if one_pass:
        total = next(r for r in rows if r.is_total)
        # the totals count reads by digest too; the groups by tag hold tags only
        rows = [r for r in rows if not r.is_total and ("tag" not in dims or r.tag != "")]
    else:
        total_stmt = await totals_query(conn, vendor_id, span.since, span.until, customer_id, repository)
        total = (await conn.execute(total_stmt)).one()
    items = [item(row, names) for row in rows]
    totals = {f: int(getattr(total, f) or 0) for f in FIGURES}
    return UsageReport(span, generated_at, dims, items, totals)


def _utc(value: datetime | None) -> datetime | None:
    moment = aware(value)
    return moment.astimezone(UTC) if moment is not None else None
