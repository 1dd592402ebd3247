"""Moves spooled events into `download_events` in batches; inserts are idempotent by event id."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.event_spool.spool import Spool
from app.models import DownloadEvent, License, Organization, Token, User
from app.reports.rollup import mark_stale
from registry.sql import create_engine, insert_ignore, write_transaction
from registry.tables import Manifest, ManifestReference, Repository

log = logging.getLogger(__name__)
BATCH = 1000
STOP_SECONDS = 30  # the final drain's time limit at shutdown
REPLAY_WAIT_SECONDS = 10  # how long start-up waits for the spool replay
events_table: Table = DownloadEvent.__table__  # type: ignore[assignment]


class WriterThread:
    """Runs the spool writer on its own thread, event loop and engine, so that reading the spool,
    decoding it and inserting batches never holds up the requests on the serving loop."""

    def __init__(self, spool: Spool, database_url: str, interval: float = 0.5) -> None:
        self.spool = spool
        self.database_url = database_url
        self.interval = interval
        self._stopping = threading.Event()
        self._replayed = threading.Event()
        self._thread = threading.Thread(target=self._main, name="wharf-audit-writer", daemon=True)
        self._serving_loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Start, and wait (briefly) for the replay of what earlier runs left, before serving."""
        self._serving_loop = asyncio.get_running_loop()  # emit() runs there, and so must rotation
        self._thread.start()
        await asyncio.to_thread(self._replayed.wait, REPLAY_WAIT_SECONDS)

    async def stop(self) -> None:
        """Stop after a final drain (what is left, if the database is away, is replayed at the next start)."""
        self._stopping.set()
        await asyncio.to_thread(self._thread.join, STOP_SECONDS)

    def _rotate(self) -> None:
        assert self._serving_loop is not None
        self._serving_loop.call_soon_threadsafe(self.spool.rotate_if_drained)

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        engine = create_engine(self.database_url)
        writer = SpoolWriter(self.spool, engine, self.interval, rotate=self._rotate)
        try:
            await writer.run(self._stopping, self._replayed)
            await writer.stop()
        finally:
            await engine.dispose()


class SpoolWriter:
    def __init__(
        self,
        spool: Spool,
        engine: AsyncEngine,
        interval: float = 0.5,
        rotate: Callable[[], None] | None = None,
    ) -> None:
        self.spool = spool
        self.engine = engine
        self.interval = interval
        self.rotate = rotate or spool.rotate_if_drained  # must run where emit() runs

    async def drain(self) -> int:
        """Store everything spooled so far; returns how many events were written (or re-written)."""
        total = await self._drain(self.spool)
        self.rotate()
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

    async def run(self, stopping: threading.Event | None = None, replayed: threading.Event | None = None) -> None:
        """Drain every `interval` until `stopping` is set; while the database is away, keep the spool and retry.
        `replayed` is set after the first pass, whether or not the database answered."""
        failing, orphans_done = False, False
        while stopping is None or not stopping.is_set():
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
            if replayed is not None:
                replayed.set()
            await _sleep(self.interval, stopping)

    async def stop(self) -> Any:
        """Final drain at shutdown (best effort: what is left is replayed at the next start)."""
        try:
            return await self.drain()
        except Exception as exc:
            log.warning("audit writer: %s; events stay in the spool for the next start", exc)
            return 0


async def describe(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Add what the request path does not look up: the platform of an index child, the token's user, and the
    names of the customer, license and token as they are now (kept when they are later renamed or deleted)."""
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
    token_names: dict[int, str] = {}
    if token_ids:
        people = await conn.execute(
            select(Token.id, Token.name, User.email)
            .outerjoin(User, User.id == Token.created_by)
            .where(Token.id.in_(token_ids))
        )
        for token_id, token_name, email in people:
            token_names[token_id] = token_name
            if email is not None:
                users[token_id] = email
    customers = await _names(conn, Organization, {r["customer_id"] for r in rows if r.get("customer_id")})
    licenses = await _names(conn, License, {r["license_id"] for r in rows if r.get("license_id")})
    for r in rows:
        r["platform"] = platforms.get((r["repository"], r.get("digest") or ""))
        r["user_email"] = users.get(r.get("token_id") or 0)
        r["token_name"] = token_names.get(r.get("token_id") or 0)
        r["customer_name"] = customers.get(r.get("customer_id") or 0)
        r["license_name"] = licenses.get(r.get("license_id") or 0)
        r["reason_code"] = r.get("reason_code")  # absent from lines spooled before codes existed


async def _names(conn: AsyncConnection, model: type[Organization] | type[License], ids: set[int]) -> dict[int, str]:
    """The names of those of `ids` that still exist, as they are now (when the event is stored)."""
    if not ids:
        return {}
    found = await conn.execute(select(model.id, model.name).where(model.id.in_(ids)))
    return {row_id: name for row_id, name in found}


async def _sleep(seconds: float, stopping: threading.Event | None) -> None:
    """Sleep, waking at once when `stopping` is set."""
    if stopping is None:
        await asyncio.sleep(seconds)
    else:
        await asyncio.to_thread(stopping.wait, seconds)
