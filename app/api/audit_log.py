"""/api/v1/audit-log: changes made by vendor staff and tokens, and its streamed export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal

from litestar import Controller, get
from litestar.params import FromQuery
from litestar.response import Stream
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import services
from app.api.common import Caller, Engine, Session, clamp
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
        body = _rows(engine, stmt.execution_options(yield_per=1000), format)
        name = f"audit-log-{services.utcnow():%Y%m%dT%H%M%SZ}.{format}"
        return Stream(
            body,
            media_type="text/csv" if format == "csv" else "application/json",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


async def _rows(engine: AsyncEngine, stmt: Select[Any], format: str) -> AsyncIterator[bytes]:
    buffer, first = io.StringIO(), True
    writer = csv.writer(buffer, lineterminator="\n")
    yield (",".join(COLUMNS) + "\n").encode() if format == "csv" else b"["
    async with engine.connect() as conn:
        result = await conn.stream(stmt)
        async for partition in result.partitions(1000):
            entries = [entry_json(r) for r in partition]
            if format == "csv":
                writer.writerows(
                    [
                        [json.dumps(v) if isinstance(v, dict) else ("" if v is None else v) for v in e.values()]
                        for e in entries
                    ]
                )
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
            else:
                chunk = ",".join(json.dumps(e) for e in entries)
                yield (chunk if first else "," + chunk).encode()
                first = False
    if format == "json":
        yield b"]"
