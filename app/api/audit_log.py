"""/api/v1/audit-log: changes made by vendor staff and tokens, and its streamed export."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from litestar import Controller, get
from litestar.params import FromQuery
from litestar.response import Stream

from app.admin_log import COLUMNS, entries, entry_json
from app.api.common import Limit, QueryId, clamp
from app.dependencies import CurrentActor, Engine, Exports, Reader
from app.guards import api
from app.models import AdminAuditEntry as A
from app.reports.export import export_response
from app.roles import Permission
from app.times import iso


class AuditLogController(Controller):
    path = "/api/v1/audit-log"
    tags = ["audit"]

    @get("/", guards=[api(Permission.AUDIT)])
    async def list_(
        self,
        actor: CurrentActor,
        reader: Reader,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        action: FromQuery[str | None] = None,
        object_type: FromQuery[str | None] = None,
        limit: Limit = 100,
        before_id: QueryId = None,
    ) -> dict[str, Any]:
        """Newest first; pass `next_before_id` back as `before_id` for the next page."""
        stmt = entries(actor.vendor_id, since, until, action, object_type)
        if before_id is not None:
            stmt = stmt.where(A.id < before_id)
        rows = (await reader.execute(stmt.order_by(A.id.desc()).limit(clamp(limit)))).all()
        return {
            "items": [entry_json(r) for r in rows],
            "next_before_id": rows[-1].id if len(rows) == clamp(limit) else None,
        }

    @get("/export", guards=[api(Permission.AUDIT)])
    async def export(
        self,
        actor: CurrentActor,
        engine: Engine,
        exports: Exports,
        format: FromQuery[Literal["csv", "json"]] = "csv",
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        action: FromQuery[str | None] = None,
        object_type: FromQuery[str | None] = None,
    ) -> Stream:
        stmt = entries(actor.vendor_id, since, until, action, object_type).order_by(A.id)
        filters = {"since": iso(since), "until": iso(until), "action": action, "object_type": object_type}
        filters = {k: v for k, v in filters.items() if v is not None}
        return export_response(
            engine, stmt, COLUMNS, entry_json, format, "audit-log", actor=actor, exports=exports, filters=filters
        )
