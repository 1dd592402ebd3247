"""Download events: one filtered query shared by the API, its export and both portals (a customer's always
narrowed to its own events)."""

from __future__ import annotations

import base64
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, or_, select

from app.models import DownloadEvent
from app.services.errors import Invalid
from app.times import aware, iso

_EVENT_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")  # event ids are 32 hex characters; older spools, uuid-like

# The columns of a download event, in order: the one documented schema (docs/audit.md) of the pulls and the
# activity lists and their exports. Names are as they were when the event was stored, the ids beside them.
COLUMNS = (
    "id",
    "at",
    "action",
    "customer_id",
    "customer_name",
    "license_id",
    "license_name",
    "token_id",
    "token_name",
    "user_email",
    "repository",
    "reference",
    "digest",
    "platform",
    "media_type",
    "bytes",
    "status",
    "reason_code",
    "reason",
    "client_ip",
    "user_agent",
)
_COLUMNS = [getattr(DownloadEvent, c) for c in COLUMNS]

READS = ("manifest.get", "manifest.head", "blob.get")  # customer downloads: pulls, version checks, blobs
WRITES = ("manifest.put", "blob.put", "blob.mount", "manifest.delete", "blob.delete")  # vendor activity
WRITE_DENIALS = ("no_push_permission", "no_delete_permission", "immutable_tag")  # a refused push or delete
Side = Literal["pulls", "activity"]


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
    side: Side | None = None  # pulls: reads and refused reads; activity: writes and refused writes; None: both

    def as_json(self) -> dict[str, Any]:
        """The filters that were set, for an export's record."""
        out: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if value is None or value == ():
                continue
            out[name] = (
                iso(value) if isinstance(value, datetime) else list(value) if isinstance(value, tuple) else value
            )
        return out


def event_json(row: Any) -> dict[str, Any]:
    return {c: (iso(getattr(row, c)) if c == "at" else getattr(row, c)) for c in COLUMNS}


def _side(side: Side) -> ColumnElement[bool]:
    denied, code = DownloadEvent.action == "denied", DownloadEvent.reason_code
    if side == "activity":
        return or_(DownloadEvent.action.in_(WRITES), and_(denied, code.in_(WRITE_DENIALS)))
    return or_(DownloadEvent.action.in_(READS), and_(denied, or_(code.is_(None), code.not_in(WRITE_DENIALS))))


def pull_events(vendor_id: int, f: PullFilters) -> Select[Any]:
    """The vendor's download events matching the filters, unordered."""
    stmt = select(*_COLUMNS).where(DownloadEvent.vendor_id == vendor_id)
    if f.side is not None:
        stmt = stmt.where(_side(f.side))
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
        when, event_id = read_cursor(cursor)
        stmt = stmt.where(or_(DownloadEvent.at < when, and_(DownloadEvent.at == when, DownloadEvent.id < event_id)))
    return stmt.order_by(DownloadEvent.at.desc(), DownloadEvent.id.desc()).limit(limit)


def read_cursor(cursor: str) -> tuple[datetime, str]:
    """The moment and event id a cursor names; only what `cursor_of` makes is read (an id holding a NUL
    character, say, failed the query on PostgreSQL: a 500)."""
    try:
        at, _, event_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        when = aware(datetime.fromisoformat(at))
    except ValueError:
        when, event_id = None, ""
    if when is None or not _EVENT_ID.fullmatch(event_id):
        raise Invalid("cursor", "cursor is not one this API returned")
    return when, event_id


def cursor_of(row: Any) -> str:
    return base64.urlsafe_b64encode(f"{iso(row.at)}|{row.id}".encode()).decode()
