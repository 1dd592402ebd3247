"""Audit and downloads: the usage report (as /api/v1/usage) and its CSV, the registry events behind it with
filters and CSV/JSON exports, the admin audit log."""

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
from app.reports import usage
from app.reports.export import export_response, usage_export
from app.roles import Permission
from app.services.errors import Invalid
from app.times import EARLIEST, LATEST, within_bounds
from app.web.context import web
from portal_vendor.common import PAGE_SIZE, Req, page, parse_day, query_url

# What the summary may be grouped by: one dimension, or a pair that reads as a sentence.
GROUPS = {
    "customer": "Customer",
    "license": "License",
    "repository": "Repository",
    "tag": "Tag",
    "day": "Day",
    "month": "Month",
    "customer,month": "Customer and month",
    "customer,repository": "Customer and repository",
    "repository,tag": "Repository and tag",
    "license,month": "License and month",
}
USAGE_FILTERS = ("since", "until", "customer_id", "repository", "group_by")
FILTERS = ("since", "until", "customer_id", "repository", "tag", "decision", "kind")
KINDS = {
    "pulls": ("Pulls", ("manifest.get",)),
    "checks": ("Version checks", ("manifest.head",)),
    "blobs": ("Layer downloads", ("blob.get",)),
    "denials": ("Denials", ("denied",)),
    "pushes": ("Pushes and deletes", ("manifest.put", "blob.put", "blob.mount", "manifest.delete", "blob.delete")),
}
# Registry actions in words; the protocol name stays in the export and in each word's tooltip.
ACTIONS = {
    "manifest.get": "Pull",
    "manifest.head": "Version check",
    "blob.get": "Layer download",
    "denied": "Denied",
    "manifest.put": "Push",
    "blob.put": "Layer upload",
    "blob.mount": "Layer mounted",
    "manifest.delete": "Delete",
    "blob.delete": "Layer delete",
}


def _customer_id(params: dict[str, str], errors: dict[str, str]) -> int | None:
    if params.get("customer_id"):
        try:
            return int(params["customer_id"])
        except ValueError:
            errors["customer_id"] = "Choose a customer from the list."
    return None


def _filters(params: dict[str, str], errors: dict[str, str]) -> downloads.PullFilters:
    """The events filters from the query string; a bad value is reported by its field and ignored."""
    customer_id = _customer_id(params, errors)
    since = parse_day(params.get("since", ""), "since", errors)
    until = parse_day(params.get("until", ""), "until", errors, "end")
    for field, moment in (("since", since), ("until", until)):
        if not within_bounds(moment):
            errors[field] = f"Choose a date between {EARLIEST.year} and {LATEST.year}."
    since, until = (since if "since" not in errors else None), (until if "until" not in errors else None)
    return downloads.PullFilters(
        since=since,
        until=until,  # the end of the "until" day: that day is included
        customer_id=customer_id,
        repository=params.get("repository", "").strip() or None,
        tag=params.get("tag", "").strip() or None,
        decision=params.get("decision") if params.get("decision") in ("allowed", "denied") else None,
        actions=KINDS[params["kind"]][1] if params.get("kind") in KINDS else (),
    )


async def _customers(reader: Any, vendor_id: int) -> list[Any]:
    return list(
        (
            await reader.execute(
                select(Organization.id, Organization.name)
                .where(Organization.vendor_id == vendor_id, Organization.kind == "customer")
                .order_by(Organization.name)
            )
        ).all()
    )


def _sorted(report: usage.UsageReport) -> list[dict[str, Any]]:
    """Busiest first for one dimension; time and pairs in their own order."""
    if len(report.group_by) == 1 and report.group_by[0] not in ("day", "month"):
        return sorted(report.items, key=lambda i: -i["pulls"])
    return report.items


class DownloadsController(Controller):
    path = "/"
    include_in_schema = False

    @get("/downloads", guards=[staff(Permission.READ)])
    async def usage(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        """The usage report (the same as /api/v1/usage) for the filters, with the period it covers."""
        params = {k: request.query_params.get(k, "") for k in USAGE_FILTERS}
        errors: dict[str, str] = {}
        f = _filters(params, errors)
        group = params["group_by"] if params["group_by"] in GROUPS else "customer"
        params["group_by"] = group
        conn = await reader.connection()
        report = await usage.usage_report(conn, user.vendor_id, group, f.since, f.until, f.customer_id, f.repository)
        customers = await _customers(reader, user.vendor_id)
        return await page(
            request,
            "vendor/downloads.html",
            user,
            section="downloads",
            block="results",
            report=report,
            items=_sorted(report),
            existing={c.id for c in customers},
            groups=GROUPS,
            params=params,
            errors=errors,
            customers=customers,
            events_url=query_url("/vendor/downloads/events", **{k: v for k, v in params.items() if k != "group_by"}),
            export_url=query_url("/vendor/downloads/usage/export", **params),
        )

    @get("/downloads/usage/export", guards=[staff(Permission.AUDIT)])
    async def export_usage(
        self, request: Req, user: SignedIn, reader: Reader, actor: CurrentActor, exports: Exports
    ) -> Stream:
        """The usage report as CSV: one row per group, the fields of /api/v1/usage?format=csv."""
        params = {k: request.query_params.get(k, "") for k in USAGE_FILTERS}
        f = _filters(params, {})
        dims = usage.parse_group_by(params["group_by"] if params["group_by"] in GROUPS else "customer")
        conn = await reader.connection()
        engine = web(request).engine
        return await usage_export(conn, engine, actor, exports, dims, f.since, f.until, f.customer_id, f.repository)

    @get("/downloads/events", guards=[staff(Permission.READ)])
    async def events(
        self, request: Req, user: SignedIn, reader: Reader, cursor: FromQuery[str | None] = None
    ) -> Template:
        """Protocol detail: every registry event (manifest and layer reads, denials, pushes), newest first."""
        params = {k: request.query_params.get(k, "") for k in FILTERS}
        errors: dict[str, str] = {}
        f = _filters(params, errors)
        try:
            stmt = downloads.newest_first(downloads.pull_events(user.vendor_id, f), cursor, PAGE_SIZE)
        except Invalid:
            stmt = downloads.newest_first(downloads.pull_events(user.vendor_id, f), None, PAGE_SIZE)
        rows = (await reader.execute(stmt)).all()
        customers = await _customers(reader, user.vendor_id)
        next_url = (
            query_url("/vendor/downloads/events", **params, cursor=downloads.cursor_of(rows[-1]))
            if len(rows) == PAGE_SIZE
            else None
        )
        return await page(
            request,
            "vendor/downloads_events.html",
            user,
            section="downloads",
            block="results",
            rows=rows,
            kinds=KINDS,
            actions=ACTIONS,
            params=params,
            errors=errors,
            customers=customers,
            names={c.id: c.name for c in customers},
            next_url=next_url,
            first_url=query_url("/vendor/downloads/events", **params) if cursor else None,
            usage_url=query_url("/vendor/downloads", **{k: params[k] for k in USAGE_FILTERS if k in params}),
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
