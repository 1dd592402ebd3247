"""Alembic environment: runs migrations over the async engine for SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from app.models import Base
from registry.sql import create_engine
from registry.tables import RegistryBase

target_metadata = [Base.metadata, RegistryBase.metadata]


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration rebuilds a table by dropping it, and dropping a parent table with foreign keys
        # on would cascade into its children. The pragma only takes outside a transaction: set it on the
        # raw connection before the migration's transaction begins; the engine is disposed afterwards.
        connection.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
        if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").first()):
            raise RuntimeError(f"migrations left a row pointing nowhere: {tuple(broken)}")


async def _main() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `wharf db upgrade`")
asyncio.run(_main())
