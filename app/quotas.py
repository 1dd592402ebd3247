"""Download quotas: pulls and bytes per pull token and per license, per UTC day and calendar month.

Counting never writes to the database on a request's path. Each process counts in memory and, every
half merge interval, writes its own absolute figures (table `quota_usage`, one row per process, token or
license and period: rewriting one is harmless) and reads the sum of every other process's. So a count
made on one node reaches every other within one merge interval, and with N nodes a quota can be
exceeded by at most what the other N-1 nodes serve in one merge interval. A process that crashes forgets
at most what it counted in its last half interval.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Table, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import QuotaUsage
from app.times import utcnow
from registry.lru import LRU
from registry.sql import dialect_insert, write_transaction

log = logging.getLogger(__name__)
Scope = Literal["token", "license"]
Span = Literal["day", "month"]
SPANS: tuple[Span, ...] = ("day", "month")
usage_table: Table = QuotaUsage.__table__  # type: ignore[assignment]
SEEN_ENTRIES = 200_000  # (token, repository, digest) pulled this minute; past it the oldest are forgotten


@dataclass
class Usage:
    pulls: int = 0
    bytes: int = 0


Key = tuple[Scope, int, Span, date]


@dataclass(frozen=True)
class Period:
    """A UTC day or calendar month: its first day (the key counts are kept under), its end, its length."""

    start: date
    end: datetime  # the next period's first moment
    seconds: int


@lru_cache(maxsize=128)
def period_of(span: Span, day: date) -> Period:
    start = day if span == "day" else day.replace(day=1)
    following = start + timedelta(days=1) if span == "day" else (start + timedelta(days=32)).replace(day=1)
    return Period(
        start, datetime(following.year, following.month, following.day, tzinfo=UTC), (following - start).days * 86400
    )


def period(span: Span, now: datetime) -> Period:
    return period_of(span, now.astimezone(UTC).date())


def period_start(span: Span, now: datetime) -> date:
    return period(span, now).start


def period_end(span: Span, now: datetime) -> datetime:
    """When the UTC day or calendar month of `now` ends (the next one's first moment)."""
    return period(span, now).end


def period_seconds(span: Span, now: datetime) -> int:
    """The length of the UTC day or calendar month of `now`, in seconds."""
    return period(span, now).seconds


class QuotaCounters:
    def __init__(self, engine: AsyncEngine, merge_seconds: float = 2.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.merge_seconds = merge_seconds
        self.clock = clock
        # new at every start: a restarted process adds its rows to those its earlier run left
        self.node = f"{socket.gethostname()[:32]}-{os.getpid()}-{secrets.token_hex(4)}"
        self._mine: dict[Key, Usage] = {}
        self._others: dict[Key, Usage] = {}
        self._dirty: set[Key] = set()
        self._seen: LRU[tuple[int, str, str], int] = LRU(SEEN_ENTRIES)
        self._swept: date | None = None

    # -- on the request path: memory only -------------------------------------------------------
    def used(self, scope: Scope, owner: int, span: Span, now: datetime) -> Usage:
        return self.used_in(scope, owner, span, period_start(span, now))

    def used_in(self, scope: Scope, owner: int, span: Span, start: date) -> Usage:
        key = (scope, owner, span, start)
        mine, others = self._mine.get(key), self._others.get(key)
        return Usage(
            (mine.pulls if mine else 0) + (others.pulls if others else 0),
            (mine.bytes if mine else 0) + (others.bytes if others else 0),
        )

    def add(self, owners: Iterable[tuple[Scope, int]], now: datetime, pulls: int = 0, size: int = 0) -> None:
        if not pulls and not size:
            return
        starts = [(span, period_start(span, now)) for span in SPANS]
        for scope, owner in owners:
            for span, start in starts:
                key = (scope, owner, span, start)
                usage = self._mine.setdefault(key, Usage())
                usage.pulls += pulls
                usage.bytes += size
                self._dirty.add(key)

    def is_new_pull(self, token_id: int, repository: str, digest: str, now: datetime) -> bool:
        """A pull is a manifest GET of a distinct (repository, digest) per token per calendar minute."""
        return self._seen.get((token_id, repository, digest)) != _minute(now)

    def pulled(self, token_id: int, repository: str, digest: str, now: datetime) -> None:
        self._seen.put((token_id, repository, digest), _minute(now))

    # -- in the background ----------------------------------------------------------------------
    async def merge(self) -> None:
        """Write this process's changed figures, then read everyone else's for the current periods."""
        now = self.clock()
        pending = {key: (self._mine[key].pulls, self._mine[key].bytes) for key in self._dirty}
        self._dirty = set()
        try:
            if pending:
                await self._write(pending, now)
            others = await self._read_others(now)
        except BaseException:
            self._dirty |= pending.keys()  # the next merge writes them again
            raise
        self._others = others
        current = {(span, period_start(span, now)) for span in SPANS}
        for key in [k for k in self._mine if (k[2], k[3]) not in current and k not in self._dirty]:
            del self._mine[key]  # a period that ended, and was written
        if self._swept != period_start("day", now):
            await self._sweep(now)

    async def _write(self, pending: dict[Key, tuple[int, int]], now: datetime) -> None:
        rows = [
            {
                "period": period,
                "span": span,
                "scope": scope,
                "owner_id": owner,
                "node": self.node,
                "pulls": pulls,
                "bytes": size,
                "updated_at": now,
            }
            for (scope, owner, span, period), (pulls, size) in pending.items()
        ]
        async with write_transaction(self.engine) as conn:
            stmt: Any = dialect_insert(conn, usage_table)
            stmt = stmt.on_conflict_do_update(
                index_elements=["period", "span", "scope", "owner_id", "node"],
                set_={
                    "pulls": stmt.excluded.pulls,
                    "bytes": stmt.excluded.bytes,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
            await conn.execute(stmt, rows)

    async def _read_others(self, now: datetime) -> dict[Key, Usage]:
        t = usage_table.c
        stmt = (
            select(t.scope, t.owner_id, t.span, t.period, func.sum(t.pulls), func.sum(t.bytes))
            .where(_current(now), t.node != self.node)
            .group_by(t.scope, t.owner_id, t.span, t.period)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {(r[0], r[1], r[2], r[3]): Usage(int(r[4]), int(r[5])) for r in rows}

    async def _sweep(self, now: datetime) -> None:
        """Delete figures of periods long over (any node may; once a day per process is plenty)."""
        t = usage_table.c
        last_month = (period_start("month", now) - timedelta(days=1)).replace(day=1)
        yesterday = period_start("day", now) - timedelta(days=1)
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                delete(usage_table).where(
                    or_(and_(t.span == "day", t.period < yesterday), and_(t.span == "month", t.period < last_month))
                )
            )
        self._swept = period_start("day", now)


def _minute(now: datetime) -> int:
    return int(now.timestamp()) // 60  # the same calendar minute as reports' (UTC, whole minutes)


def _current(now: datetime) -> Any:
    t = usage_table.c
    return or_(*(and_(t.span == span, t.period == period_start(span, now)) for span in SPANS))


async def usage_of(
    conn: Any, scope: Scope, owners: list[int], now: datetime | None = None
) -> dict[int, dict[str, int]]:
    """The merged figures of tokens or licenses for the pages and the API: pulls today and this month,
    bytes this month (as every node last wrote them, so at most one merge interval old)."""
    now = now or utcnow()
    found = {owner: {"pulls_today": 0, "pulls_this_month": 0, "bytes_this_month": 0} for owner in owners}
    if not owners:
        return found
    t = usage_table.c
    stmt = (
        select(t.owner_id, t.span, func.sum(t.pulls), func.sum(t.bytes))
        .where(_current(now), t.scope == scope, t.owner_id.in_(owners))
        .group_by(t.owner_id, t.span)
    )
    for owner, span, pulls, size in (await conn.execute(stmt)).all():
        if span == "day":
            found[owner]["pulls_today"] = int(pulls)
        else:
            found[owner]["pulls_this_month"] = int(pulls)
            found[owner]["bytes_this_month"] = int(size)
    return found
