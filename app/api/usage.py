"""/api/v1/usage: pulls, version checks, unique clients and bytes, grouped by customer, license,
repository, tag or day. The definitions are in docs/audit.md ("Counting pulls")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, get
from litestar.params import FromQuery

from app.api.common import QueryId
from app.dependencies import CurrentActor, Reader
from app.guards import api
from app.reports.usage import GroupBy, usage_query
from app.roles import Permission


def _key(group_by: GroupBy, value: Any) -> Any:
    if group_by == "day":
        return value if isinstance(value, str) else value.isoformat()
    if group_by in ("customer", "license"):
        return value or None  # 0: a vendor token, or no license
    return value


class UsageController(Controller):
    path = "/api/v1/usage"
    tags = ["downloads"]

    @get("/", guards=[api(Permission.READ)])
    async def usage(
        self,
        actor: CurrentActor,
        reader: Reader,
        group_by: FromQuery[GroupBy] = "customer",
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        customer_id: QueryId = None,
        repository: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        conn = await reader.connection()
        stmt = await usage_query(conn, actor.vendor_id, group_by, since, until, customer_id, repository)
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
