"""Engine set-up shared by every user of the database: SQLite pragmas and write transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

WRITE = {"wharf_write": True}


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine; on SQLite with WAL, foreign keys, a busy timeout and `BEGIN IMMEDIATE` for writes.

    SQLite upgrades a read transaction to a write one only if nobody wrote meanwhile, and fails at
    once otherwise; starting write transactions as IMMEDIATE makes them queue on the busy timeout.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("wharf_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        conn = await conn.execution_options(**WRITE)
        async with conn.begin():
            yield conn


def dialect_insert(conn: AsyncConnection, table: Table) -> Insert:
    """An INSERT in the connection's dialect, so `on_conflict_*` is available."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)  # type: ignore[no-any-return]


def insert_ignore(conn: AsyncConnection, table: Table) -> Insert:
    """`INSERT ... ON CONFLICT DO NOTHING` in the connection's dialect."""
    return dialect_insert(conn, table).on_conflict_do_nothing()  # type: ignore[attr-defined,no-any-return]


def upsert(conn: AsyncConnection, table: Table, keys: list[str], values: dict[str, Any]) -> Insert:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values)
    updates = {k: v for k, v in values.items() if k not in keys}
    return stmt.on_conflict_do_update(index_elements=keys, set_=updates)  # type: ignore[no-any-return]
