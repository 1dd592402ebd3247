"""/api/v1/usage: pulls, version checks, unique clients and bytes, grouped by customer, license,
repository, tag or day. The definitions are in docs/audit.md ("Counting pulls")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from litestar import Controller, get
from litestar.params import FromQuery
from sqlalchemy import Select, String, and_, case, cast, distinct, exists, func, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from app import services
from app.api.common import Caller, Session
from app.models import DownloadEvent as E
from app.roles import Permission
from registry.tables import Manifest, ManifestReference, Repository

GroupBy = Literal["customer", "license", "repository", "tag", "day"]


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


def _minute(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.date_trunc("minute", E.at)
    return func.strftime("%Y-%m-%d %H:%M", E.at)


def _day(dialect: str) -> ColumnElement[Any]:
    """The UTC day; PostgreSQL truncates (cheaper than formatting each row), the answer formats it."""
    return func.date_trunc("day", E.at) if dialect == "postgresql" else func.date(E.at)


def _pull_identity(dialect: str) -> ColumnElement[Any]:
    """Token, repository, digest and minute: what makes two manifest GETs the same pull."""
    if dialect == "postgresql":  # a row value: no string building per event
        return tuple_(func.coalesce(E.token_id, 0), E.repository, func.coalesce(E.digest, ""), _minute(dialect))
    return (
        func.coalesce(cast(E.token_id, String), "")
        + "|"
        + E.repository
        + "|"
        + func.coalesce(E.digest, "")
        + "|"
        + _minute(dialect)
    )


def usage_query(
    dialect: str,
    vendor_id: int,
    group_by: GroupBy,
    since: datetime | None,
    until: datetime | None,
    customer_id: int | None,
    repository: str | None,
) -> Select[Any]:
    columns: dict[str, Any] = {
        "customer": E.customer_id,
        "license": E.license_id,
        "repository": E.repository,
        "tag": E.reference,
        "day": _day(dialect),
    }
    key = columns[group_by].label("key")
    ok = and_(E.status < 400, E.action != "denied")
    pull = and_(ok, E.action == "manifest.get", ~_is_index_child())
    pull_identity = _pull_identity(dialect)  # one pull per token, repository, digest and minute
    stmt = (
        select(
            key,
            func.count(distinct(case((pull, pull_identity)))).label("pulls"),
            func.count(case((and_(ok, E.action == "manifest.head"), 1))).label("version_checks"),
            func.count(
                distinct(
                    case((and_(ok, E.action.in_(("manifest.get", "manifest.head"))), func.coalesce(E.client_ip, "")))
                )
            ).label("unique_clients"),
            func.coalesce(func.sum(case((ok, E.bytes), else_=0)), 0).label("bytes"),
            func.count(case((E.action == "denied", 1))).label("denials"),
        )
        .where(E.vendor_id == vendor_id, E.action.in_(("manifest.get", "manifest.head", "blob.get", "denied")))
        .group_by(key)
        .order_by(key)
    )
    if since is not None:
        stmt = stmt.where(E.at >= services.aware(since))
    if until is not None:
        stmt = stmt.where(E.at < services.aware(until))
    if customer_id is not None:
        stmt = stmt.where(E.customer_id == customer_id)
    if repository is not None:
        stmt = stmt.where(E.repository == repository)
    if group_by == "tag":
        stmt = stmt.where(~E.reference.like("sha%:%"))  # tags only; digests are not tags
    return stmt


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
        dialect = session.get_bind().dialect.name
        stmt = usage_query(dialect, caller.vendor_id, group_by, since, until, customer_id, repository)
        rows = (await session.execute(stmt)).all()
        return {
            "group_by": group_by,
            "items": [
                {
                    "key": r.key.date().isoformat() if isinstance(r.key, datetime) else r.key,
                    "pulls": r.pulls,
                    "version_checks": r.version_checks,
                    "unique_clients": r.unique_clients,
                    "bytes": int(r.bytes),
                    "denials": r.denials,
                }
                for r in rows
            ],
        }
