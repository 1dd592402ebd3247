"""/api/v1/audit-log: changes made by vendor staff and tokens, and its streamed export."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from litestar import Controller, get
from litestar.params import FromQuery
from litestar.response import Stream
from sqlalchemy import Select, select

from app import services
from app.api.common import Caller, Engine, Session, clamp
from app.api.export import export_response
from app.models import AdminAuditEntry as A
from app.roles import Permission

COLUMNS = ("id", "at", "actor", "client_ip", "action", "object_type", "object_id", "before", "after")


def entry_json(row: Any) -> dict[str, Any]:
    out = {c: getattr(row, c) for c in COLUMNS}
    out["at"] = services.iso(row.at)
    for side in ("before", "after"):
        out[side] = json.loads(out[side]) if out[side] else None
    return out


def _filtered(
    vendor_id: int, since: datetime | None, until: datetime | None, action: str | None, object_type: str | None
) -> Select[Any]:
    stmt = select(*[getattr(A, c) for c in COLUMNS]).where(A.vendor_id == vendor_id)
    if since is not None:
        stmt = stmt.where(A.at >= services.aware(since))
    if until is not None:
        stmt = stmt.where(A.at < services.aware(until))
    if action is not None:
        stmt = stmt.where(A.action == action)
    if object_type is not None:
        stmt = stmt.where(A.object_type == object_type)
    return stmt


class AuditLogController(Controller):
    path = "/api/v1/audit-log"
    tags = ["audit"]

    @get("/")
    async def list_(
        self,
        caller: Caller,
        session: Session,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        action: FromQuery[str | None] = None,
        object_type: FromQuery[str | None] = None,
        limit: FromQuery[int] = 100,
        before_id: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        """Newest first; pass `next_before_id` back as `before_id` for the next page."""
        caller.require(Permission.AUDIT)
        stmt = _filtered(caller.vendor_id, since, until, action, object_type)
        if before_id is not None:
            stmt = stmt.where(A.id < before_id)
        rows = (await session.execute(stmt.order_by(A.id.desc()).limit(clamp(limit)))).all()
        return {
            "items": [entry_json(r) for r in rows],
            "next_before_id": rows[-1].id if len(rows) == clamp(limit) else None,
        }

    @get("/export")
    async def export(
        self,
        caller: Caller,
        engine: Engine,
        format: FromQuery[Literal["csv", "json"]] = "csv",
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        action: FromQuery[str | None] = None,
        object_type: FromQuery[str | None] = None,
    ) -> Stream:
        caller.require(Permission.AUDIT)
        stmt = _filtered(caller.vendor_id, since, until, action, object_type).order_by(A.id)
        return export_response(engine, stmt, COLUMNS, entry_json, format, "audit-log")
