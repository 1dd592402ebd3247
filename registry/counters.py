"""Counters in the database that every process watches to drop caches another process made stale."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.sql import dialect_insert
from registry.tables import RegistryCounter

COLLECTED = "collected"  # bumped by every garbage collection batch that deletes
TAGS_DELETED = "tags_deleted"  # bumped by every transaction that deletes tags
counters = cast(Table, RegistryCounter.__table__)


async def bump(conn: AsyncConnection, name: str) -> None:
    """Count one more, in the caller's transaction: other processes see it once that commits."""
    stmt = dialect_insert(conn, counters).values(name=name, value=1)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"value": counters.c.value + 1}))  # type: ignore[attr-defined]


async def value(conn: AsyncConnection, name: str) -> int:
    return int((await conn.execute(select(counters.c.value).where(counters.c.name == name))).scalar() or 0)
