"""/api/v1/usage: pulls, version checks, unique clients, bytes and denials per one or two of customer, license,
repository, tag, day and month, names beside ids, with the period covered and totals; JSON or a CSV file.
The definitions are in docs/audit.md ("Counting pulls")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from litestar import Controller, Response, get
from litestar.params import FromQuery
from litestar.response import Stream

from app.api.common import QueryId
from app.dependencies import CurrentActor, Engine, Exports, Reader
from app.guards import api
from app.reports import usage as reports
from app.reports.export import usage_export
from app.roles import Permission
from app.services.base import require


class UsageController(Controller):
    path = "/api/v1/usage"
    tags = ["downloads"]

    @get("/", guards=[api(Permission.READ)])
    async def usage(
        self,
        actor: CurrentActor,
        reader: Reader,
        engine: Engine,
        exports: Exports,
        group_by: FromQuery[str] = "customer",
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        customer_id: QueryId = None,
        repository: FromQuery[str | None] = None,
        format: FromQuery[Literal["json", "csv"]] = "json",
    ) -> Response[dict[str, Any]] | Stream:
        """`group_by`: one of customer|license|repository|tag|day|month, or two comma-separated
        (`customer,month`). Without `since`, the period starts at the first event; without `until`, now."""
        dims = reports.parse_group_by(group_by)
        conn = await reader.connection()
        if format == "csv":  # an export: recorded, and like every bulk export it needs the audit permission
            require(actor, Permission.AUDIT)
            return await usage_export(conn, engine, actor, exports, dims, since, until, customer_id, repository)
        report = await reports.usage_report(conn, actor.vendor_id, dims, since, until, customer_id, repository)
        return Response(report.json())
