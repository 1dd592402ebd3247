"""Every export is recorded: who asked for what (the filters), through which channel, and, once sent, the row
count, size and SHA-256 of exactly the bytes that left, so a file handed on can be checked later."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.domain_events import DomainEvent
from app.identity import Actor
from app.models import ExportRecord
from app.roles import Permission
from app.services.base import Service, require
from app.services.errors import NotFound
from app.times import iso, utcnow

KINDS = ("pulls", "activity", "audit-log", "usage")


@dataclass(frozen=True)
class Sent:
    """What an export stream sent: data rows (a header excluded), bytes and their SHA-256 (hex)."""

    rows: int
    bytes: int
    sha256: str


def record_json(record: ExportRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "format": record.format,
        "filters": json.loads(record.filters),
        "actor": record.actor,
        "user_id": record.user_id,
        "token_id": record.token_id,
        "channel": record.channel,
        "state": record.state,
        "started_at": iso(record.started_at),
        "finished_at": iso(record.finished_at),
        "rows": record.rows,
        "bytes": record.bytes,
        "sha256": record.sha256,
    }


class ExportService(Service):
    async def start(self, actor: Actor, export_id: str, kind: str, format: str, filters: dict[str, Any]) -> None:
        """The record of an export about to stream (a short write of its own, before the first byte)."""
        require(actor, Permission.AUDIT)
        async with self.change(actor) as c:
            c.session.add(
                ExportRecord(
                    id=export_id,
                    vendor_id=actor.vendor_id,
                    kind=kind,
                    format=format,
                    filters=json.dumps(filters, default=str, ensure_ascii=False),
                    actor=actor.label[:320],
                    user_id=actor.user_id,
                    token_id=actor.token_id,
                    channel=str(actor.via),
                    started_at=utcnow(),
                    state="streaming",
                )
            )

    async def finish(self, actor: Actor, export_id: str, sent: Sent, *, complete: bool) -> None:
        """Close the record (`complete`, or `aborted` when the stream was cut short) and log it with the same facts."""
        async with self.change(actor) as c:
            record = await c.session.get(ExportRecord, export_id)
            if record is None or record.vendor_id != actor.vendor_id:
                raise NotFound("no such export")
            record.state = "complete" if complete else "aborted"
            record.rows, record.bytes, record.sha256 = sent.rows, sent.bytes, sent.sha256
            record.finished_at = utcnow()
            await c.session.flush()
            event = DomainEvent.EXPORT_COMPLETED if complete else DomainEvent.EXPORT_ABORTED
            c.record(event, "export", export_id, after=record_json(record))

    async def get(self, actor: Actor, export_id: str) -> dict[str, Any]:
        """One export of the actor's vendor; another vendor's answers as if it did not exist."""
        require(actor, Permission.AUDIT)
        async with self.reading() as session:
            record = (
                await session.scalars(
                    select(ExportRecord).where(ExportRecord.id == export_id, ExportRecord.vendor_id == actor.vendor_id)
                )
            ).first()
        if record is None:
            raise NotFound("no such export")
        return record_json(record)
