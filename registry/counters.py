"""Counters in the database that every process watches to drop caches another process made stale."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.sql import dialect_insert
from registry.tables import RegistryCounter

TAGS_DELETED = "tags_deleted"
counters = cast(Table, RegistryCounter.__table__)


async def count_tag_deletion(conn: AsyncConnection) -> None:
    """Called in the transaction that deletes tags: other processes see the counter move."""
    stmt = dialect_insert(conn, counters).values(name=TAGS_DELETED, value=1)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"value": counters.c.value + 1}))  # type: ignore[attr-defined]
