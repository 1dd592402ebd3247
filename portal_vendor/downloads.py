"""Audit and downloads: the pulls table with filters, usage summaries, CSV/JSON exports, the admin audit log."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Controller, get
from litestar.params import FromQuery
from litestar.response import Stream, Template
from sqlalchemy import select

from app import admin_log
from app.dependencies import CurrentActor, Exports, Reader, SignedIn
from app.guards import staff
from app.models import AdminAuditEntry, DownloadEvent, Organization
from app.reports import events as downloads
from app.reports.export import export_response
from app.reports.usage import GroupBy, usage_query
from app.roles import Permission
from app.services.errors import Invalid
from app.web.context import web
from portal_vendor.common import PAGE_SIZE, Req, page, parse_day, query_url

GROUPS: tuple[GroupBy, ...] = ("customer", "repository", "tag", "day", "license")
FILTERS = ("since", "until", "customer_id", "repository", "tag", "decision", "kind")
KINDS = {
    "pulls": ("Pulls", ("manifest.get",)),
    "checks": ("Version checks", ("manifest.head",)),
    "blobs": ("Layer downloads", ("blob.get",)),
    "denials": ("Denials", ("denied",)),
    "pushes": ("Pushes and deletes", ("manifest.put", "blob.put", "blob.mount", "manifest.delete", "blob.delete")),
}


def _filters(params: dict[str, str], errors: dict[str, str]) -> downloads.PullFilters:
    """The pulls filters from the query string; a bad value is reported by its field and ignored."""
    customer_id = None
    if params.get("customer_id"):
        try:
            customer_id = int(params["customer_id"])
        except ValueError:
            errors["customer_id"] = "Choose a customer from the list."
    until = parse_day(params.get("until", ""), "until", errors, "end")
    return downloads.PullFilters(
        since=parse_day(params.get("since", ""), "since", errors),
        until=until,  # the end of the "until" day: that day is included
        customer_id=customer_id,
        repository=params.get("repository", "").strip() or None,
        tag=params.get("tag", "").strip() or None,
        decision=params.get("decision") if params.get("decision") in ("allowed", "denied") else None,
        actions=KINDS[params["kind"]][1] if params.get("kind") in KINDS else (),
    )


class DownloadsController(Controller):
    path = "/"
    include_in_schema = False

    @get("/downloads", guards=[staff(Permission.READ)])
    async def pulls(
        self,
        request: Req,
        user: SignedIn,
        reader: Reader,
        cursor: FromQuery[str | None] = None,
        group_by: FromQuery[str] = "customer",
    ) -> Template:
        params = {k: request.query_params.get(k, "") for k in FILTERS}
        errors: dict[str, str] = {}
        f = _filters(params, errors)
        group: GroupBy = group_by if group_by in GROUPS else "customer"
        try:
            stmt = downloads.newest_first(downloads.pull_events(user.vendor_id, f), cursor, PAGE_SIZE)
        except Invalid:
            stmt = downloads.newest_first(downloads.pull_events(user.vendor_id, f), None, PAGE_SIZE)
        rows = (await reader.execute(stmt)).all()
        conn = await reader.connection()
        usage_stmt = await usage_query(conn, user.vendor_id, group, f.since, f.until, f.customer_id, f.repository)
        usage = (await conn.execute(usage_stmt)).all()
        customers = (
            await reader.execute(
                select(Organization.id, Organization.name)
                .where(Organization.vendor_id == user.vendor_id, Organization.kind == "customer")
                .order_by(Organization.name)
            )
        ).all()
        names = {c.id: c.name for c in customers}
        usage = sorted(usage, key=lambda r: -int(r.pulls)) if group != "day" else list(usage)
        next_url = (
            query_url("/vendor/downloads", **params, group_by=group, cursor=downloads.cursor_of(rows[-1]))
            if len(rows) == PAGE_SIZE
            else None
        )
        return await page(
            request,
            "vendor/downloads.html",
            user,
            section="downloads",
            block="results",
            rows=rows,
            usage=usage,
            group_by=group,
            groups=GROUPS,
            kinds=KINDS,
            params=params,
            errors=errors,
            customers=customers,
            names=names,
            next_url=next_url,
            first_url=query_url("/vendor/downloads", **params, group_by=group) if cursor else None,
            export_url=lambda fmt: query_url("/vendor/downloads/export", **params, format=fmt),
        )

    @get("/downloads/export", guards=[staff(Permission.AUDIT)])
    async def export_pulls(
        self, request: Req, actor: CurrentActor, exports: Exports, format: FromQuery[str] = "csv"
    ) -> Stream:
        """The downloads shown, as a file: customer downloads (`pulls-….csv`), or with the "Pushes and
        deletes" kind chosen, the vendor's own activity (`activity-….csv`)."""
        params = {k: request.query_params.get(k, "") for k in FILTERS}
        side: downloads.Side = "activity" if params["kind"] == "pushes" else "pulls"
        f = replace(_filters(params, {}), side=side)
        stmt = downloads.pull_events(actor.vendor_id, f).order_by(DownloadEvent.at, DownloadEvent.id)
        fmt = "json" if format == "json" else "csv"
        columns, to_json = downloads.COLUMNS, downloads.event_json
        return export_response(
            web(request).engine, stmt, columns, to_json, fmt, side, actor=actor, exports=exports, filters=f.as_json()
        )

    @get("/audit-log", guards=[staff(Permission.AUDIT)])
    async def audit_log(
        self,
        request: Req,
        user: SignedIn,
        reader: Reader,
        before_id: FromQuery[str | None] = None,
        action: FromQuery[str] = "",
    ) -> Template:
        stmt = admin_log.entries(user.vendor_id, action=action.strip() or None)
        if before_id and before_id.isdigit():
            stmt = stmt.where(AdminAuditEntry.id < int(before_id))
        rows = (await reader.execute(stmt.order_by(AdminAuditEntry.id.desc()).limit(PAGE_SIZE))).all()
        actions = (
            await reader.scalars(
                select(AdminAuditEntry.action)
                .where(AdminAuditEntry.vendor_id == user.vendor_id)
                .distinct()
                .order_by(AdminAuditEntry.action)
            )
        ).all()
        entries: list[dict[str, Any]] = [admin_log.entry_json(r) for r in rows]
        next_url = (
            query_url("/vendor/audit-log", action=action, before_id=rows[-1].id) if len(rows) == PAGE_SIZE else None
        )
        return await page(
            request,
            "vendor/audit_log.html",
            user,
            section="audit",
            block="results",
            entries=entries,
            actions=actions,
            action=action,
            next_url=next_url,
            first_url=query_url("/vendor/audit-log", action=action) if before_id else None,
            export_url=lambda fmt: query_url("/vendor/audit-log/export", action=action, format=fmt),
        )

    @get("/audit-log/export", guards=[staff(Permission.AUDIT)])
    async def export_audit_log(
        self,
        request: Req,
        actor: CurrentActor,
        exports: Exports,
        format: FromQuery[str] = "csv",
        action: FromQuery[str] = "",
    ) -> Stream:
        wanted = action.strip() or None
        stmt = admin_log.entries(actor.vendor_id, action=wanted).order_by(AdminAuditEntry.id)
        fmt = "json" if format == "json" else "csv"
        return export_response(
            web(request).engine,
            stmt,
            admin_log.COLUMNS,
            admin_log.entry_json,
            fmt,
            "audit-log",
            actor=actor,
            exports=exports,
            filters={"action": wanted} if wanted else {},
        )
