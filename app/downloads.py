"""Download events as the API and the portals list them: the one schema and the shared filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from app import services
from app.models import DownloadEvent

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


def event_json(row: Any) -> dict[str, Any]:
    return {c: (services.iso(getattr(row, c)) if c == "at" else getattr(row, c)) for c in COLUMNS}


def filtered(
    vendor_id: int,
    since: datetime | None,
    until: datetime | None,
    customer_id: int | None,
    license_id: int | None,
    repository: str | None,
    tag: str | None,
    decision: str | None,
    token_id: int | None = None,
) -> Select[Any]:
    """Events of one vendor, narrowed by whichever filters are given (a portal always gives its customer)."""
    stmt = select(*_COLUMNS).where(DownloadEvent.vendor_id == vendor_id)
    if since is not None:
        stmt = stmt.where(DownloadEvent.at >= services.aware(since))
    if until is not None:
        stmt = stmt.where(DownloadEvent.at < services.aware(until))
    for column, value in (
        (DownloadEvent.customer_id, customer_id),
        (DownloadEvent.license_id, license_id),
        (DownloadEvent.repository, repository),
        (DownloadEvent.reference, tag),
        (DownloadEvent.token_id, token_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if decision == "denied":
        stmt = stmt.where(DownloadEvent.action == "denied")
    elif decision == "allowed":
        stmt = stmt.where(DownloadEvent.action != "denied", DownloadEvent.status < 400)
    return stmt
