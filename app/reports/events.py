"""Download events: one filtered query shared by the API, its export and both portals (a customer's always
narrowed to its own events)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select

from app.models import DownloadEvent
from app.services.errors import Invalid
from app.times import aware, iso

# The export's columns, in order: the one documented schema of a download event (docs/audit.md).
COLUMNS = (
    "id",
    "at",
    "action",
    "vendor_id",
    "customer_id",
    "license_id",
    "token_id",
    "repository",
    "reference",
    "digest",
    "media_type",
    "bytes",
    "status",
    "reason",
    "client_ip",
    "user_agent",
    "platform",
    "user_email",
)
_COLUMNS = [getattr(DownloadEvent, c) for c in COLUMNS]


@dataclass(frozen=True)
class PullFilters:
    since: datetime | None = None
    until: datetime | None = None
    customer_id: int | None = None
    license_id: int | None = None
    repository: str | None = None
    tag: str | None = None
    decision: str | None = None  # allowed | denied
    actions: tuple[str, ...] = ()  # e.g. ("manifest.get",): only these kinds of event
    token_id: int | None = None


def event_json(row: Any) -> dict[str, Any]:
    return {c: (iso(getattr(row, c)) if c == "at" else getattr(row, c)) for c in COLUMNS}


def pull_events(vendor_id: int, f: PullFilters) -> Select[Any]:
    """The vendor's download events matching the filters, unordered."""
    stmt = select(*_COLUMNS).where(DownloadEvent.vendor_id == vendor_id)
    if f.since is not None:
        stmt = stmt.where(DownloadEvent.at >= aware(f.since))
    if f.until is not None:
        stmt = stmt.where(DownloadEvent.at < aware(f.until))
    for column, value in (
        (DownloadEvent.customer_id, f.customer_id),
        (DownloadEvent.license_id, f.license_id),
        (DownloadEvent.repository, f.repository),
        (DownloadEvent.reference, f.tag),
        (DownloadEvent.token_id, f.token_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if f.actions:
        stmt = stmt.where(DownloadEvent.action.in_(f.actions))
    if f.decision == "denied":
        stmt = stmt.where(DownloadEvent.action == "denied")
    elif f.decision == "allowed":
        stmt = stmt.where(DownloadEvent.action != "denied", DownloadEvent.status < 400)
    return stmt


def newest_first(stmt: Select[Any], cursor: str | None, limit: int) -> Select[Any]:
    """A page of events, newest first, after `cursor` (from `cursor_of` on the last row of the page before)."""
    if cursor:
        try:
            at, _, event_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
            when = datetime.fromisoformat(at)
        except ValueError:
            raise Invalid("cursor", "cursor is not one this API returned") from None
        stmt = stmt.where(or_(DownloadEvent.at < when, and_(DownloadEvent.at == when, DownloadEvent.id < event_id)))
    return stmt.order_by(DownloadEvent.at.desc(), DownloadEvent.id.desc()).limit(limit)


def cursor_of(row: Any) -> str:
    return base64.urlsafe_b64encode(f"{iso(row.at)}|{row.id}".encode()).decode()
