"""The admin audit log as the vendor reads it: one filtered query for the API, its export and the portal."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from app.models import AdminAuditEntry as A
from app.times import aware, iso

COLUMNS = ("id", "at", "actor", "client_ip", "via", "action", "object_type", "object_id", "before", "after")


def entry_json(row: Any) -> dict[str, Any]:
    out = {c: getattr(row, c) for c in COLUMNS}
    out["at"] = iso(row.at)
    for side in ("before", "after"):
        out[side] = json.loads(out[side]) if out[side] else None
    return out


def entries(
    vendor_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
) -> Select[Any]:
    stmt = select(*[getattr(A, c) for c in COLUMNS]).where(A.vendor_id == vendor_id)
    if since is not None:
        stmt = stmt.where(A.at >= aware(since))
    if until is not None:
        stmt = stmt.where(A.at < aware(until))
    if action is not None:
        stmt = stmt.where(A.action == action)
    if object_type is not None:
        stmt = stmt.where(A.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(A.object_id == object_id)
    return stmt
