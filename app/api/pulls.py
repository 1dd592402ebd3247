"""/api/v1/pulls: the download events, filtered and paged, and their streamed CSV/JSON export."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Literal

from litestar import Controller, get
from litestar.params import FromQuery
from litestar.response import Stream
from sqlalchemy import Select, and_, or_

from app import services
from app.api.common import Caller, Engine, Session, clamp
from app.api.export import export_response
from app.downloads import COLUMNS, event_json, filtered
from app.models import DownloadEvent
from app.roles import Permission


def _cursor(row: Any) -> str:
    return base64.urlsafe_b64encode(f"{services.iso(row.at)}|{row.id}".encode()).decode()


def _after_cursor(stmt: Select[Any], cursor: str) -> Select[Any]:
    try:
        at, _, event_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        when = datetime.fromisoformat(at)
    except ValueError:
        raise services.Invalid("cursor", "cursor is not one this API returned") from None
    return stmt.where(or_(DownloadEvent.at < when, and_(DownloadEvent.at == when, DownloadEvent.id < event_id)))


class PullController(Controller):
    path = "/api/v1/pulls"
    tags = ["downloads"]

    @get("/")
    async def list_(
        self,
        caller: Caller,
        session: Session,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        customer_id: FromQuery[int | None] = None,
        license_id: FromQuery[int | None] = None,
        repository: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        decision: FromQuery[Literal["allowed", "denied"] | None] = None,
        limit: FromQuery[int] = 100,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Newest first; pass `next_cursor` back as `cursor` for the next page."""
        caller.require(Permission.READ)
        stmt = filtered(caller.vendor_id, since, until, customer_id, license_id, repository, tag, decision)
        if cursor:
            stmt = _after_cursor(stmt, cursor)
        rows = (
            await session.execute(stmt.order_by(DownloadEvent.at.desc(), DownloadEvent.id.desc()).limit(clamp(limit)))
        ).all()
        next_cursor = _cursor(rows[-1]) if len(rows) == clamp(limit) else None
        return {"items": [event_json(r) for r in rows], "next_cursor": next_cursor}

    @get("/export")
    async def export(
        self,
        caller: Caller,
        engine: Engine,
        format: FromQuery[Literal["csv", "json"]] = "csv",
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        customer_id: FromQuery[int | None] = None,
        license_id: FromQuery[int | None] = None,
        repository: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        decision: FromQuery[Literal["allowed", "denied"] | None] = None,
    ) -> Stream:
        """Every matching event, oldest first, streamed with a server-side cursor: no row cap, flat memory."""
        caller.require(Permission.READ)
        stmt = filtered(caller.vendor_id, since, until, customer_id, license_id, repository, tag, decision)
        stmt = stmt.order_by(DownloadEvent.at, DownloadEvent.id)
        return export_response(engine, stmt, COLUMNS, event_json, format, "pulls")
