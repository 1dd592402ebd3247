"""Moves spooled events into `download_events` in batches; inserts are idempotent by event id."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.audit.rollup import mark_stale
from app.audit.spool import Spool
from app.models import DownloadEvent, Token, User
from registry.sql import insert_ignore, write_transaction
from registry.tables import Manifest, ManifestReference, Repository

log = logging.getLogger(__name__)
BATCH = 1000
events_table: Table = DownloadEvent.__table__  # type: ignore[assignment]


class SpoolWriter:
    def __init__(self, spool: Spool, engine: AsyncEngine, interval: float = 0.5) -> None:
        self.spool = spool
        self.engine = engine
        self.interval = interval

    async def drain(self) -> int:
        """Store everything spooled so far; returns how many events were written (or re-written)."""
        total = await self._drain(self.spool)
        self.spool.rotate_if_drained()
        return total

    async def drain_orphans(self) -> int:
        """Store what other, no longer running, nodes left in their spools on this data dir."""
        total = 0
        for orphan in self.spool.orphans():
            try:
                total += await self._drain(orphan)
            finally:
                orphan.close()
        return total

    async def _drain(self, spool: Spool) -> int:
        total = 0
        while True:
            records, offset = spool.pending(BATCH)
            if not records:
                if offset != spool.stored_offset():
                    spool.mark_stored(offset)  # blank lines only
                return total
            rows = [{**r, "at": datetime.fromisoformat(r["at"])} for r in records]
            async with write_transaction(self.engine) as conn:
                await describe(conn, rows)
                await conn.execute(insert_ignore(conn, events_table), rows)
                await mark_stale(conn, {r["at"].astimezone(UTC).date() for r in rows})
            spool.mark_stored(offset)  # after the commit: a crash in between only replays
            total += len(records)

    async def run(self) -> None:
        """Drain every `interval`; while the database is away, keep the spool and retry."""
        failing, orphans_done = False, False
        while True:
            try:
                if not orphans_done:
                    await self.drain_orphans()
                    orphans_done = True
                await self.drain()
                if failing:
                    log.warning("audit writer: database reachable again, spool drained")
                failing = False
            except Exception as exc:
                if not failing:
                    log.warning("audit writer: cannot store events yet (%s); they stay in the spool", exc)
                failing = True
            await asyncio.sleep(self.interval)

    async def stop(self) -> Any:
        """Final drain at shutdown (best effort: what is left is replayed at the next start)."""
        try:
            return await self.drain()
        except Exception as exc:
            log.warning("audit writer: %s; events stay in the spool for the next start", exc)
            return 0


async def describe(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Add what the request path does not look up: the platform of an index child and the token's user."""
    children = {(r["repository"], r["digest"]) for r in rows if r["action"].startswith("manifest.") and r.get("digest")}
    platforms: dict[tuple[str, str], str | None] = {}
    if children:
        found = await conn.execute(
            select(Repository.name, ManifestReference.digest, ManifestReference.platform)
            .join(Manifest, Manifest.id == ManifestReference.manifest_id)
            .join(Repository, Repository.id == Manifest.repository_id)
            .where(
                ManifestReference.is_manifest.is_(True),
                ManifestReference.platform.is_not(None),
                tuple_(Repository.name, ManifestReference.digest).in_(children),
            )
        )
        platforms = {(name, digest): platform for name, digest, platform in found}
    token_ids = {r["token_id"] for r in rows if r.get("token_id")}
    users: dict[int, str] = {}
    if token_ids:
        people = await conn.execute(
            select(Token.id, User.email).join(User, User.id == Token.created_by).where(Token.id.in_(token_ids))
        )
        users = {token_id: email for token_id, email in people}
    for r in rows:
        r["platform"] = platforms.get((r["repository"], r.get("digest") or ""))
        r["user_email"] = users.get(r.get("token_id") or 0)
