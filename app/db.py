"""Database engine and Alembic migrations (the one way the schema is created, tests included)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import SigningKey
from registry.sql import write_transaction

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations; blocking (Alembic drives its own event loop), so call it off the app's loop."""
    command.upgrade(alembic_config(database_url), revision)


async def signing_key_pem(engine: AsyncEngine, generate: Callable[[], tuple[str, str]]) -> tuple[str, str]:
    """The registry's token signing key (kid, PEM), created on first start and shared by every node."""
    oldest = select(SigningKey.kid, SigningKey.private_pem).order_by(SigningKey.created_at, SigningKey.kid).limit(1)
    async with engine.connect() as conn:
        row = (await conn.execute(oldest)).first()
    if row is None:
        kid, pem = generate()
        async with write_transaction(engine) as conn:
            await conn.execute(insert(SigningKey).values(kid=kid, private_pem=pem))
        async with engine.connect() as conn:
            row = (await conn.execute(oldest)).first()
    assert row is not None
    return row.kid, row.private_pem
