"""/api/v1/pulls: the download events, filtered and paged, and their streamed CSV/JSON export."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from litestar import Controller, get
from litestar.params import FromQuery
from litestar.response import Stream
from sqlalchemy import Select

from app.api.common import Limit, QueryId, clamp
from app.dependencies import CurrentActor, Engine, Reader
from app.guards import api
from app.models import DownloadEvent
from app.reports.events import COLUMNS, PullFilters, cursor_of, event_json, newest_first, pull_events
from app.reports.export import export_response
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

    @get("/", guards=[api(Permission.READ)])
    async def list_(
        self,
        actor: CurrentActor,
        reader: Reader,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        customer_id: QueryId = None,
        license_id: QueryId = None,
        repository: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        decision: FromQuery[Literal["allowed", "denied"] | None] = None,
        limit: Limit = 100,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Newest first; pass `next_cursor` back as `cursor` for the next page."""
        stmt = _filtered(actor.vendor_id, since, until, customer_id, license_id, repository, tag, decision)
        rows = (await reader.execute(newest_first(stmt, cursor, clamp(limit)))).all()
        next_cursor = cursor_of(rows[-1]) if len(rows) == clamp(limit) else None
        return {"items": [event_json(r) for r in rows], "next_cursor": next_cursor}

    @get("/export", guards=[api(Permission.AUDIT)])
    async def export(
        self,
        actor: CurrentActor,
        engine: Engine,
        format: FromQuery[Literal["csv", "json"]] = "csv",
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        customer_id: QueryId = None,
        license_id: QueryId = None,
        repository: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        decision: FromQuery[Literal["allowed", "denied"] | None] = None,
    ) -> Stream:
        """Every matching event, oldest first, streamed with a server-side cursor: no row cap, flat memory."""
        stmt = _filtered(actor.vendor_id, since, until, customer_id, license_id, repository, tag, decision)
        stmt = stmt.order_by(DownloadEvent.at, DownloadEvent.id)
        return export_response(engine, stmt, COLUMNS, event_json, format, "pulls")
