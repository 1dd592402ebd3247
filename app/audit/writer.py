"""Moves spooled events into `download_events` in batches; inserts are idempotent by event id."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.spool import Spool
from app.models import DownloadEvent
from registry.sql import insert_ignore, write_transaction

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
                await conn.execute(insert_ignore(conn, events_table), rows)
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
