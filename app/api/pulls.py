"""/api/v1/pulls: the download events, filtered and paged, and their streamed CSV/JSON export."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from litestar import Controller, get
from litestar.params import FromQuery
from litestar.response import Stream
from sqlalchemy import Select

from app.api.common import Caller, Engine, Session, clamp
from app.api.export import export_response
from app.downloads import COLUMNS, PullFilters, cursor_of, event_json, newest_first, pull_events
from app.models import DownloadEvent
from app.roles import Permission


def _filtered(
    vendor_id: int,
    since: datetime | None,
    until: datetime | None,
    customer_id: int | None,
    license_id: int | None,
    repository: str | None,
    tag: str | None,
    decision: str | None,
) -> Select[Any]:
    return pull_events(vendor_id, PullFilters(since, until, customer_id, license_id, repository, tag, decision))


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
        stmt = _filtered(caller.vendor_id, since, until, customer_id, license_id, repository, tag, decision)
        rows = (await session.execute(newest_first(stmt, cursor, clamp(limit)))).all()
        next_cursor = cursor_of(rows[-1]) if len(rows) == clamp(limit) else None
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
        stmt = _filtered(caller.vendor_id, since, until, customer_id, license_id, repository, tag, decision)
        stmt = stmt.order_by(DownloadEvent.at, DownloadEvent.id)
        return export_response(engine, stmt, COLUMNS, event_json, format, "pulls")
