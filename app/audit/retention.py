"""Retention of raw download events: delete what is older than the configured number of days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import DownloadEvent
from registry.sql import write_transaction


async def prune(engine: AsyncEngine, days: int) -> int:
    cutoff = datetime.now(UTC) - timedelta(days=days)
    async with write_transaction(engine) as conn:
        result = await conn.execute(delete(DownloadEvent).where(DownloadEvent.at < cutoff))
    return int(result.rowcount or 0)
