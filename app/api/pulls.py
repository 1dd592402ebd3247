"""/api/v1/pulls and /api/v1/activity: the download events, filtered and paged, and their streamed, recorded
CSV/JSON exports. Pulls are customer downloads (reads and refused reads); activity is the vendor's own
pushes and deletes (and refused ones)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from litestar import Controller, get
from litestar.params import FromQuery
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.api.common import Limit, QueryId, clamp
from app.dependencies import CurrentActor, Engine, Exports, Reader
from app.guards import api
from app.identity import Actor
from app.models import DownloadEvent
from app.reports.events import COLUMNS, PullFilters, Side, cursor_of, event_json, newest_first, pull_events
from app.reports.export import export_response
from app.roles import Permission
from app.services.exports import ExportService

Decision = FromQuery[Literal["allowed", "denied"] | None]


async def _page(reader: AsyncSession, vendor_id: int, f: PullFilters, limit: int, cursor: str | None) -> dict[str, Any]:
    rows = (await reader.execute(newest_first(pull_events(vendor_id, f), cursor, clamp(limit)))).all()
    next_cursor = cursor_of(rows[-1]) if len(rows) == clamp(limit) else None
    return {"items": [event_json(r) for r in rows], "next_cursor": next_cursor}


def _export(actor: Actor, engine: AsyncEngine, exports: ExportService, f: PullFilters, format: str) -> Stream:
    stmt = pull_events(actor.vendor_id, f).order_by(DownloadEvent.at, DownloadEvent.id)
    side: Side = f.side or "pulls"
    return export_response(
        engine, stmt, COLUMNS, event_json, format, side, actor=actor, exports=exports, filters=f.as_json()
    )


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
        decision: Decision = None,
        limit: Limit = 100,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Customer downloads (pulls, version checks, blob downloads, refused reads), newest first; pass
        `next_cursor` back as `cursor` for the next page."""
        f = PullFilters(since, until, customer_id, license_id, repository, tag, decision, side="pulls")
        return await _page(reader, actor.vendor_id, f, limit, cursor)

    @get("/export", guards=[api(Permission.AUDIT)])
    async def export(
        self,
        actor: CurrentActor,
        engine: Engine,
        exports: Exports,
        format: FromQuery[Literal["csv", "json"]] = "csv",
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        customer_id: QueryId = None,
        license_id: QueryId = None,
        repository: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        decision: Decision = None,
    ) -> Stream:
        """Every matching customer download, oldest first, streamed with a server-side cursor (no row cap,
        flat memory); `Wharf-Export-Id` names the export's record (GET /api/v1/exports/{id})."""
        f = PullFilters(since, until, customer_id, license_id, repository, tag, decision, side="pulls")
        return _export(actor, engine, exports, f, format)


class ActivityController(Controller):
    path = "/api/v1/activity"
    tags = ["downloads"]

    @get("/", guards=[api(Permission.READ)])
    async def list_(
        self,
        actor: CurrentActor,
        reader: Reader,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        repository: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        decision: Decision = None,
        token_id: QueryId = None,
        limit: Limit = 100,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """The vendor's pushes, uploads and deletes (and refused ones), newest first; paged like /pulls."""
        f = PullFilters(since, until, None, None, repository, tag, decision, token_id=token_id, side="activity")
        return await _page(reader, actor.vendor_id, f, limit, cursor)

    @get("/export", guards=[api(Permission.AUDIT)])
    async def export(
        self,
        actor: CurrentActor,
        engine: Engine,
        exports: Exports,
        format: FromQuery[Literal["csv", "json"]] = "csv",
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        repository: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        decision: Decision = None,
        token_id: QueryId = None,
    ) -> Stream:
        """Every matching activity event, oldest first, streamed and recorded like the pulls export."""
        f = PullFilters(since, until, None, None, repository, tag, decision, token_id=token_id, side="activity")
        return _export(actor, engine, exports, f, format)
